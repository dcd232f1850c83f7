//! Chinese names for synthetic subjects: people, companies, individual businesses,
//! cooperatives and public bodies.
//!
//! Every pool is free of ASCII commas, quotes and line breaks, so the CSV writer can emit
//! fields without quoting (a test checks this).

use super::places::Place;
use super::rng::Rng;

/// A short text built without heap allocation; long enough for any generated name.
#[derive(Clone, Copy)]
pub struct Text {
    bytes: [u8; 120],
    len: u8,
}

impl Text {
    pub fn new() -> Text {
        Text {
            bytes: [0; 120],
            len: 0,
        }
    }

    pub fn push(&mut self, s: &str) {
        self.push_ascii_or_utf8(s.as_bytes());
    }

    /// Appends ASCII bytes such as formatted digits (which keeps the text valid UTF-8).
    pub fn push_ascii(&mut self, b: &[u8]) {
        assert!(b.is_ascii());
        self.push_ascii_or_utf8(b);
    }

    fn push_ascii_or_utf8(&mut self, b: &[u8]) {
        let start = self.len as usize;
        let end = start + b.len();
        // Pools are fixed, so an overflow is a programming error in this module.
        assert!(end <= self.bytes.len(), "synthetic text too long");
        self.bytes[start..end].copy_from_slice(b);
        self.len = end as u8;
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    #[cfg(test)]
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).expect("built from &str pieces")
    }
}

impl Default for Text {
    fn default() -> Text {
        Text::new()
    }
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁",
    "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏",
    "韦", "付", "方", "白", "邹", "孟", "熊", "秦", "邱", "江", "尹", "薛", "闫", "段", "雷", "侯",
    "龙", "史", "陶", "黎", "贺", "顾", "毛", "郝", "龚", "邵", "万", "钱", "严", "武", "戴", "莫",
    "孔", "向", "汤", "常", "牛", "申", "翟", "樊", "岳",
];

const COMPOUND_SURNAMES: &[&str] = &["欧阳", "司马", "上官", "诸葛", "东方", "皇甫"];

const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "玉", "萍", "红", "建", "文", "辉", "力", "鹏",
    "飞", "宇", "浩", "凯", "俊", "帅", "慧", "颖", "婷", "雪", "琳", "晨", "欣", "佳", "梅", "兰",
    "峰", "国", "志", "海", "波", "斌", "东", "新", "春", "晓", "龙", "林", "云", "亮", "成", "民",
    "永", "宁", "鑫", "博", "然", "子", "涵", "梓", "轩", "怡", "嘉", "一", "诗", "雨", "思", "乐",
    "安", "振", "德", "庆", "旭", "红", "卫", "利", "金", "保",
];

/// Writes a person's name: a surname (rarely compound) and one or two given characters.
/// Returns the surname, which an individual business may carry in its name.
pub fn person_name(rng: &mut Rng, out: &mut Text) -> &'static str {
    let surname = if rng.chance(40) {
        rng.pick(COMPOUND_SURNAMES)
    } else {
        rng.pick(SURNAMES)
    };
    out.push(surname);
    out.push(rng.pick(GIVEN));
    if rng.chance(6_500) {
        out.push(rng.pick(GIVEN));
    }
    surname
}

/// Characters of trade names (字号).
const TRADE: &[&str] = &[
    "华", "泰", "鑫", "恒", "瑞", "祥", "盛", "兴", "达", "鼎", "通", "顺", "宏", "金", "源", "博",
    "远", "嘉", "信", "诚", "中", "原", "豫", "润", "丰", "利", "和", "昌", "隆", "福", "安", "康",
    "德", "亿", "汇", "创", "联", "众", "天", "宇", "辰", "星", "海", "龙", "凤", "锦", "鸿", "运",
    "腾", "飞", "东", "方", "正", "大", "美", "佳", "合", "宜", "立", "凯", "捷", "永", "新", "同",
    "裕", "峰", "轩", "誉", "奥", "尚",
];

const INDUSTRIES: &[&str] = &[
    "建材",
    "商贸",
    "物流",
    "科技",
    "食品",
    "建筑工程",
    "房地产开发",
    "农业科技",
    "机械设备",
    "餐饮管理",
    "环保科技",
    "电子商务",
    "实业",
    "医药",
    "化工",
    "纺织",
    "汽车销售",
    "装饰工程",
    "信息技术",
    "文化传媒",
    "劳务",
    "供应链管理",
    "新能源",
    "包装材料",
    "耐火材料",
    "红枣",
    "物业服务",
    "市政工程",
    "钢结构",
    "印刷",
    "家具",
    "电力工程",
    "网络科技",
    "置业",
];

const FIRM_SUFFIXES: &[&str] = &["有限公司", "有限责任公司", "股份有限公司"];
const FIRM_SUFFIX_WEIGHTS: &[u32] = &[60, 30, 10];

const SHOPS: &[&str] = &[
    "烩面馆",
    "烧烤店",
    "便利店",
    "五金店",
    "理发店",
    "水果店",
    "日用品商店",
    "汽车修理部",
    "建材门市部",
    "副食店",
    "早餐店",
    "服装店",
    "小吃店",
    "超市",
    "农资店",
    "家电维修部",
];

const PRODUCE: &[&str] = &[
    "红枣",
    "小麦",
    "蔬菜",
    "花生",
    "大蒜",
    "中药材",
    "养殖",
    "果品",
];

/// The kind of organisation, which fixes USCC positions 1–2 and the shape of its name.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum OrgKind {
    /// 91: enterprise.
    Enterprise,
    /// 92: individual business (个体工商户), named after its operator.
    Individual,
    /// 93: farmers' specialised cooperative.
    Cooperative,
    /// 12: public institution (事业单位).
    Institution,
    /// 51: social organisation (社会团体).
    Association,
    /// 52: private non-enterprise unit (民办非企业单位).
    PrivateNonEnterprise,
    /// N2: rural collective economic organisation.
    Collective,
    /// Y1: other.
    Other,
}

impl OrgKind {
    const ALL: [OrgKind; 8] = [
        OrgKind::Enterprise,
        OrgKind::Individual,
        OrgKind::Cooperative,
        OrgKind::Institution,
        OrgKind::Association,
        OrgKind::PrivateNonEnterprise,
        OrgKind::Collective,
        OrgKind::Other,
    ];
    const WEIGHTS: [u32; 8] = [650, 200, 50, 20, 20, 30, 20, 10];

    pub fn pick(rng: &mut Rng) -> OrgKind {
        OrgKind::ALL[rng.weighted(&OrgKind::WEIGHTS)]
    }

    /// USCC positions 1 (registration authority) and 2 (entity type).
    pub fn prefix(self) -> [u8; 2] {
        match self {
            OrgKind::Enterprise => *b"91",
            OrgKind::Individual => *b"92",
            OrgKind::Cooperative => *b"93",
            OrgKind::Institution => *b"12",
            OrgKind::Association => *b"51",
            OrgKind::PrivateNonEnterprise => *b"52",
            OrgKind::Collective => *b"N2",
            OrgKind::Other => *b"Y1",
        }
    }
}

fn trade_name(rng: &mut Rng, out: &mut Text) {
    out.push(rng.pick(TRADE));
    out.push(rng.pick(TRADE));
    if rng.chance(1_500) {
        out.push(rng.pick(TRADE));
    }
}

/// Writes an organisation's name. `operator_surname` is the surname of the operator of an
/// individual business (张记烩面馆).
pub fn org_name(
    rng: &mut Rng,
    kind: OrgKind,
    place: &Place,
    operator_surname: &str,
    out: &mut Text,
) {
    match kind {
        OrgKind::Enterprise => {
            out.push(match rng.below(10) {
                0..=5 => place.firm,
                6..=8 => place.province,
                _ => place.short,
            });
            trade_name(rng, out);
            out.push(rng.pick(INDUSTRIES));
            out.push(FIRM_SUFFIXES[rng.weighted(FIRM_SUFFIX_WEIGHTS)]);
        }
        OrgKind::Individual => {
            out.push(place.gov);
            if rng.chance(6_000) {
                out.push(operator_surname);
                out.push("记");
            } else {
                trade_name(rng, out);
            }
            out.push(rng.pick(SHOPS));
        }
        OrgKind::Cooperative => {
            out.push(place.gov);
            trade_name(rng, out);
            out.push(rng.pick(PRODUCE));
            out.push("种植专业合作社");
        }
        OrgKind::Institution => {
            out.push(place.gov);
            out.push(rng.pick(&[
                "第二人民医院",
                "中医院",
                "第一高级中学",
                "疾病预防控制中心",
                "自来水供应站",
                "农业技术推广中心",
            ]));
        }
        OrgKind::Association => {
            out.push(place.gov);
            out.push(rng.pick(INDUSTRIES));
            out.push(rng.pick(&["行业协会", "商会", "促进会"]));
        }
        OrgKind::PrivateNonEnterprise => {
            out.push(place.gov);
            trade_name(rng, out);
            out.push(rng.pick(&["培训学校", "幼儿园", "养老院", "职业技能培训中心", "诊所"]));
        }
        OrgKind::Collective => {
            out.push(place.gov);
            trade_name(rng, out);
            out.push("村股份经济合作社");
        }
        OrgKind::Other => {
            out.push(place.gov);
            trade_name(rng, out);
            out.push(rng.pick(&["市场管理处", "建设指挥部", "联合会"]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::places::{pick_place, PLACES};

    fn no_csv_specials(s: &str) -> bool {
        !s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    }

    #[test]
    fn pools_are_csv_safe() {
        let pools: [&[&str]; 7] = [
            SURNAMES,
            COMPOUND_SURNAMES,
            GIVEN,
            TRADE,
            INDUSTRIES,
            SHOPS,
            PRODUCE,
        ];
        for pool in pools {
            assert!(pool.iter().all(|s| no_csv_specials(s)));
        }
    }

    #[test]
    fn names_have_the_expected_shape() {
        let mut rng = Rng::new(3);
        for _ in 0..2_000 {
            let mut name = Text::new();
            let surname = person_name(&mut rng, &mut name);
            let chars = name.as_str().chars().count();
            assert!(name.as_str().starts_with(surname));
            assert!((2..=4).contains(&chars), "{}", name.as_str());

            let kind = OrgKind::pick(&mut rng);
            let place = &PLACES[pick_place(&mut rng)];
            let mut org = Text::new();
            org_name(&mut rng, kind, place, surname, &mut org);
            let s = org.as_str();
            assert!(no_csv_specials(s));
            if kind == OrgKind::Enterprise {
                assert!(s.ends_with("公司"), "{s}");
            }
            if kind == OrgKind::Individual {
                assert!(s.starts_with(place.gov), "{s}");
            }
        }
    }
}
