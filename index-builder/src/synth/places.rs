//! Places: where organisations register, where authorities sit, and the address codes of
//! identity numbers.

use super::rng::Rng;

/// A place where organisations register and authorities sit.
pub struct Place {
    /// GB/T 2260 division code (USCC positions 3–8).
    pub code: &'static str,
    /// The government level's name, prefix of its bureaus: 新郑市, 郑州市金水区, 郑州市.
    pub gov: &'static str,
    /// The prefecture-level city: 郑州市 (itself for a city).
    pub city: &'static str,
    /// The short form used in district branch names and company names: 新郑, 金水.
    pub short: &'static str,
    /// The prefix firms registered here commonly carry: 新郑市, 郑州, 福州.
    pub firm: &'static str,
    /// The province name used as an alternative firm prefix: 河南.
    pub province: &'static str,
    /// The basic-level (or intermediate, for a city) people's court.
    pub court: &'static str,
    /// The court's code in case numbers: 豫0184.
    pub court_code: &'static str,
    /// One-character abbreviation of the city used in document numbers: 郑.
    pub city_abbr: &'static str,
    /// One-character abbreviation of the province: 豫.
    pub prov_abbr: &'static str,
    /// The customs district.
    pub customs: &'static str,
}

macro_rules! place {
    ($code:literal, $gov:literal, $city:literal, $short:literal, $firm:literal, $prov:literal, $court:literal,
     $cc:literal, $ca:literal, $pa:literal, $customs:literal) => {
        Place {
            code: $code,
            gov: $gov,
            city: $city,
            short: $short,
            firm: $firm,
            province: $prov,
            court: $court,
            court_code: $cc,
            city_abbr: $ca,
            prov_abbr: $pa,
            customs: $customs,
        }
    };
}

/// Registration places of organisations, Xinzheng first (the seed's county), then the rest
/// of Zhengzhou, then other provinces.
#[rustfmt::skip]
pub const PLACES: &[Place] = &[
    place!("410184", "新郑市", "郑州市", "新郑", "新郑市", "河南", "新郑市人民法院", "豫0184", "郑", "豫", "郑州海关"),
    place!("410100", "郑州市", "郑州市", "郑州", "郑州", "河南", "郑州市中级人民法院", "豫01", "郑", "豫", "郑州海关"),
    place!("410102", "郑州市中原区", "郑州市", "中原", "郑州", "河南", "郑州市中原区人民法院", "豫0102", "郑", "豫", "郑州海关"),
    place!("410103", "郑州市二七区", "郑州市", "二七", "郑州", "河南", "郑州市二七区人民法院", "豫0103", "郑", "豫", "郑州海关"),
    place!("410104", "郑州市管城回族区", "郑州市", "管城", "郑州", "河南", "郑州市管城回族区人民法院", "豫0104", "郑", "豫", "郑州海关"),
    place!("410105", "郑州市金水区", "郑州市", "金水", "郑州", "河南", "郑州市金水区人民法院", "豫0105", "郑", "豫", "郑州海关"),
    place!("410122", "中牟县", "郑州市", "中牟", "中牟县", "河南", "中牟县人民法院", "豫0122", "郑", "豫", "郑州海关"),
    place!("410181", "巩义市", "郑州市", "巩义", "巩义市", "河南", "巩义市人民法院", "豫0181", "郑", "豫", "郑州海关"),
    place!("410183", "新密市", "郑州市", "新密", "新密市", "河南", "新密市人民法院", "豫0183", "郑", "豫", "郑州海关"),
    place!("410185", "登封市", "郑州市", "登封", "登封市", "河南", "登封市人民法院", "豫0185", "郑", "豫", "郑州海关"),
    place!("110105", "北京市朝阳区", "北京市", "朝阳", "北京", "北京", "北京市朝阳区人民法院", "京0105", "京", "京", "北京海关"),
    place!("310115", "上海市浦东新区", "上海市", "浦东", "上海", "上海", "上海市浦东新区人民法院", "沪0115", "沪", "沪", "上海海关"),
    place!("440113", "广州市番禺区", "广州市", "番禺", "广州", "广东", "广州市番禺区人民法院", "粤0113", "穗", "粤", "广州海关"),
    place!("440305", "深圳市南山区", "深圳市", "南山", "深圳", "广东", "深圳市南山区人民法院", "粤0305", "深", "粤", "深圳海关"),
    place!("330106", "杭州市西湖区", "杭州市", "西湖", "杭州", "浙江", "杭州市西湖区人民法院", "浙0106", "杭", "浙", "杭州海关"),
    place!("320106", "南京市鼓楼区", "南京市", "鼓楼", "南京", "江苏", "南京市鼓楼区人民法院", "苏0106", "宁", "苏", "南京海关"),
    place!("420106", "武汉市武昌区", "武汉市", "武昌", "武汉", "湖北", "武汉市武昌区人民法院", "鄂0106", "汉", "鄂", "武汉海关"),
    place!("510107", "成都市武侯区", "成都市", "武侯", "成都", "四川", "成都市武侯区人民法院", "川0107", "蓉", "川", "成都海关"),
    place!("350100", "福州市", "福州市", "福州", "福州", "福建", "福州市中级人民法院", "闽01", "榕", "闽", "福州海关"),
    place!("350102", "福州市鼓楼区", "福州市", "鼓楼", "福州", "福建", "福州市鼓楼区人民法院", "闽0102", "榕", "闽", "福州海关"),
    place!("350203", "厦门市思明区", "厦门市", "思明", "厦门", "福建", "厦门市思明区人民法院", "闽0203", "厦", "闽", "厦门海关"),
];

/// Draw weights of [`PLACES`]: about 45 % Xinzheng, 30 % elsewhere in Zhengzhou.
const PLACE_WEIGHTS: &[u32] = &[
    45, 6, 4, 4, 3, 6, 3, 2, 1, 1, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 1,
];

/// Indexes of the Fujian places, where the nonconforming pilot-area codes were issued.
pub const FUJIAN_PLACES: &[usize] = &[18, 19, 20];

pub fn pick_place(rng: &mut Rng) -> usize {
    rng.weighted(PLACE_WEIGHTS)
}

/// Address codes for identity numbers: mostly Henan, with the big cities and the standard's
/// examples. They are distinct because each one carries its own block of numbers (see
/// `subjects`), which keeps generated numbers unique.
pub const RIC_REGIONS: &[&str] = &[
    "410184", "410102", "410103", "410104", "410105", "410108", "410122", "410181", "410182",
    "410183", "410185", "410202", "410221", "410302", "410322", "410402", "410502", "410602",
    "410702", "410802", "410902", "411002", "411024", "411102", "411202", "411302", "411402",
    "411502", "411602", "411702", "412721", "110105", "110108", "310115", "440113", "440106",
    "440305", "350102", "350203", "330106", "320106", "420106", "510107", "370102", "610113",
    "360426", "130102", "340104",
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn tables_line_up() {
        assert_eq!(PLACES.len(), PLACE_WEIGHTS.len());
        for &i in FUJIAN_PLACES {
            assert!(PLACES[i].code.starts_with("35"));
        }
        let codes: HashSet<_> = PLACES.iter().map(|p| p.code).collect();
        assert_eq!(codes.len(), PLACES.len());
        for p in PLACES {
            assert!(p.code.len() == 6 && p.code.bytes().all(|b| b.is_ascii_digit()));
            for text in [
                p.gov,
                p.city,
                p.short,
                p.firm,
                p.court,
                p.court_code,
                p.customs,
            ] {
                assert!(!text
                    .bytes()
                    .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')));
            }
        }
        assert!(RIC_REGIONS
            .iter()
            .all(|r| r.len() == 6 && r.bytes().all(|b| b.is_ascii_digit())));
        // Each address code owns a block of numbers; a repeated one would repeat numbers.
        let distinct: HashSet<_> = RIC_REGIONS.iter().collect();
        assert_eq!(distinct.len(), RIC_REGIONS.len());
    }
}
