//! The twelve standard lists as the generator sees them: which department's file they go
//! to, how large a share of records they get, who is listed on them, and how their
//! authorities, document numbers, reasons and terms look.

use super::names::Text;
use super::places::Place;
use super::rng::Rng;
use crate::date::Day;

/// The department files under `lists/`, in the order of [`List::dept`].
pub const DEPARTMENTS: &[&str] = &[
    "court",
    "tax",
    "market",
    "safety",
    "food_drug",
    "environment",
    "procurement",
    "customs",
    "civic",
];

pub struct List {
    pub code: &'static str,
    /// Index into [`DEPARTMENTS`].
    pub dept: usize,
    /// Prefix of the record ids of this list.
    pub prefix: &'static str,
    /// Share of all records, in tenths of a percent.
    pub share: u32,
    /// Share of this list's records whose subject is a person, per 10,000.
    pub person_share: u64,
    pub red: bool,
    /// Typical reasons, the first of which is court ground 1 for `court_defaulter`.
    reasons: &'static [&'static str],
}

const fn list(
    code: &'static str,
    dept: usize,
    prefix: &'static str,
    share: u32,
    person_share: u64,
    red: bool,
    reasons: &'static [&'static str],
) -> List {
    List {
        code,
        dept,
        prefix,
        share,
        person_share,
        red,
        reasons,
    }
}

pub const COURT_DEFAULTER: usize = 0;

/// The standard lists (SPEC §2) in the SPEC's order. Shares: court defaulters 35 %,
/// business anomalies 25 %, the other black lists 25 %, the red lists 15 %. People make up
/// about 30 % of records, most of them court defaulters and honest models.
pub const LISTS: &[List] = &[
    list(
        "court_defaulter",
        0,
        "ZX",
        350,
        7_200,
        false,
        &[
            "有履行能力而拒不履行生效法律文书确定义务",
            "以伪造证据、暴力、威胁等方法妨碍、抗拒执行",
            "以虚假诉讼、虚假仲裁或者以隐匿、转移财产等方法规避执行",
            "违反财产报告制度",
            "违反限制消费令",
            "无正当理由拒不履行执行和解协议",
        ],
    ),
    list(
        "tax_major_violation",
        1,
        "SW",
        50,
        1_000,
        false,
        &[
            "偷税",
            "逃避追缴欠税",
            "骗取出口退税",
            "虚开增值税专用发票",
            "虚开普通发票",
            "抗税",
        ],
    ),
    list(
        "market_serious_illegal",
        2,
        "YW",
        50,
        0,
        false,
        &[
            "被列入经营异常名录届满3年仍未履行相关义务",
            "提交虚假材料或者采取其他欺诈手段隐瞒重要事实取得公司登记",
            "因严重违法行为被吊销营业执照",
            "拒不履行行政处罚决定",
        ],
    ),
    list(
        "market_abnormal",
        2,
        "YC",
        250,
        0,
        false,
        &[
            "未依照规定期限公示年度报告",
            "通过登记的住所或者经营场所无法联系",
            "未在责令的期限内公示有关企业信息",
            "公示企业信息隐瞒真实情况、弄虚作假",
        ],
    ),
    list(
        "safety_production",
        3,
        "AQ",
        40,
        1_500,
        false,
        &[
            "发生生产安全责任事故",
            "瞒报、谎报生产安全事故",
            "重大事故隐患拒不整改",
            "未依法取得安全生产许可证擅自从事生产经营活动",
        ],
    ),
    list(
        "food_drug",
        4,
        "SY",
        35,
        1_500,
        false,
        &[
            "生产经营不符合食品安全标准的食品",
            "在食品中添加非食用物质",
            "生产销售假药",
            "生产销售劣药",
        ],
    ),
    list(
        "environment",
        5,
        "HB",
        35,
        0,
        false,
        &[
            "超标排放大气污染物",
            "通过暗管偷排水污染物",
            "未批先建",
            "篡改、伪造自动监测数据",
        ],
    ),
    list(
        "procurement_misconduct",
        6,
        "CG",
        25,
        0,
        false,
        &[
            "提供虚假材料谋取中标、成交",
            "与采购人、其他供应商恶意串通",
            "向采购人、采购代理机构行贿或者提供其他不正当利益",
            "拒绝有关部门监督检查或者提供虚假情况",
        ],
    ),
    list(
        "customs_dishonest",
        7,
        "HG",
        15,
        0,
        false,
        &[
            "走私违法",
            "拒不缴纳海关罚没款",
            "非法进口固体废物",
            "伪报贸易方式",
        ],
    ),
    list("tax_a_grade", 1, "NS", 70, 0, true, &["纳税信用评价为A级"]),
    list(
        "contract_honoring",
        2,
        "SH",
        40,
        0,
        true,
        &["守合同重信用企业公示"],
    ),
    list(
        "honest_model",
        8,
        "CX",
        40,
        7_500,
        true,
        &[
            "诚信道德模范",
            "优秀青年志愿者",
            "诚信会员",
            "诚实守信先进个人",
        ],
    ),
];

/// Draw weights of [`LISTS`].
pub const SHARES: [u32; 12] = {
    let mut w = [0u32; 12];
    let mut i = 0;
    while i < 12 {
        w[i] = LISTS[i].share;
        i += 1;
    }
    w
};

/// A list code that no catalogue declares, as data entry or an old export produces them.
pub const UNKNOWN_CODES: &[&str] = &[
    "court_defaulters",
    "tax_b_grade",
    "market_blacklist",
    "Court_Defaulter",
    "honest-model",
    "food_safety",
];

/// Whether the reason drawn for a court defaulter is ground 1 (refuses to pay), which has
/// no fixed term.
pub fn pick_reason(list: usize, rng: &mut Rng) -> (&'static str, bool) {
    let reasons = LISTS[list].reasons;
    if list == COURT_DEFAULTER {
        // About 40 % of defaulters are listed on ground 1.
        if rng.chance(4_000) {
            return (reasons[0], true);
        }
        return (
            reasons[1 + rng.below(reasons.len() as u64 - 1) as usize],
            false,
        );
    }
    (rng.pick(reasons), false)
}

/// The last day of effect, or `None` for an open-ended listing.
pub fn effective_until(list: usize, from: Day, open_ended: bool, rng: &mut Rng) -> Option<Day> {
    let years = match LISTS[list].code {
        "court_defaulter" if open_ended => return None,
        "court_defaulter" => 2 + rng.chance(3_000) as i32,
        "market_abnormal" | "procurement_misconduct" => rng.range(1, 3) as i32,
        // One in five of these runs the longer five-year term.
        "market_serious_illegal" | "food_drug" => 3 + 2 * rng.chance(2_000) as i32,
        "tax_a_grade" => 1,
        "contract_honoring" => 2,
        "honest_model" if rng.chance(3_000) => return None,
        _ => 3,
    };
    Some(from.add_years(years).add_days(-1))
}

/// The deciding authority's name.
pub fn authority(list: usize, place: &Place, rng: &mut Rng, out: &mut Text) {
    let province_level = if matches!(place.province, "北京" | "上海") {
        "市"
    } else {
        "省"
    };
    let city_level = place.code.ends_with("00");
    match LISTS[list].code {
        "court_defaulter" => out.push(place.court),
        "tax_major_violation" => {
            out.push("国家税务总局");
            out.push(place.gov);
            out.push("税务局");
            if city_level || rng.chance(3_000) {
                out.push("稽查局");
            }
        }
        "tax_a_grade" => {
            out.push("国家税务总局");
            out.push(place.province);
            out.push(province_level);
            out.push("税务局");
        }
        "market_serious_illegal" | "market_abnormal" | "food_drug" => {
            out.push(place.gov);
            out.push("市场监督管理局");
        }
        "contract_honoring" => {
            out.push(place.province);
            out.push(province_level);
            out.push("市场监督管理局");
        }
        "safety_production" => {
            out.push(place.gov);
            out.push("应急管理局");
        }
        "environment" => {
            out.push(place.city);
            out.push("生态环境局");
            if !city_level {
                out.push(place.short);
                out.push("分局");
            }
        }
        "procurement_misconduct" => {
            out.push(place.gov);
            out.push("财政局");
        }
        "customs_dishonest" => out.push(place.customs),
        _ => {
            if rng.chance(7_000) {
                out.push(place.gov);
                out.push("精神文明建设委员会");
            } else {
                out.push("共青团");
                out.push(place.gov);
                out.push("委员会");
            }
        }
    }
}

/// The decision's document number in the form its authority uses, e.g. `(2023)豫0184执1234号`
/// or `郑税稽罚〔2022〕15号`.
pub fn doc_no(list: usize, place: &Place, year: i32, rng: &mut Rng, out: &mut Text) {
    let year = year as u64;
    let (head, max): (&[&str], u64) = match LISTS[list].code {
        "court_defaulter" => {
            out.push("(");
            push_number(out, year);
            out.push(")");
            out.push(place.court_code);
            out.push(if rng.chance(1_500) { "执恢" } else { "执" });
            push_number(out, 1 + rng.below(9_999));
            out.push("号");
            return;
        }
        "tax_major_violation" => (&[place.city_abbr, "税稽罚"], 300),
        "tax_a_grade" => (&[place.prov_abbr, "税公告"], 20),
        "market_serious_illegal" => (&[place.city_abbr, "市监严违"], 200),
        "market_abnormal" => (&[place.short, "市监异"], 9_999),
        "contract_honoring" => (&[place.prov_abbr, "市监"], 150),
        "safety_production" => (&["(", place.short, ")应急罚"], 200),
        "food_drug" => (&[place.short, "市监食药罚"], 500),
        "environment" => (&[place.city_abbr, "环罚"], 400),
        "procurement_misconduct" => (&[place.city_abbr, "财购"], 100),
        "customs_dishonest" => (&[place.city_abbr, "关缉违字"], 300),
        _ => (&[place.short, "文明委"], 30),
    };
    for h in head {
        out.push(h);
    }
    out.push("〔");
    push_number(out, year);
    out.push("〕");
    push_number(out, 1 + rng.below(max));
    out.push("号");
}

/// The document number of a repair, removal or revocation decision.
pub fn repair_doc_no(action: &str, place: &Place, year: i32, rng: &mut Rng, out: &mut Text) {
    out.push(place.city_abbr);
    out.push(match action {
        "repair" => "信修字",
        "removal" => "移出字",
        _ => "撤销字",
    });
    out.push("〔");
    push_number(out, year as u64);
    out.push("〕");
    push_number(out, 1 + rng.below(999));
    out.push("号");
}

fn push_number(out: &mut Text, n: u64) {
    let mut buf = [0u8; 20];
    out.push_ascii(super::sink::format_u64(n, &mut buf));
}
