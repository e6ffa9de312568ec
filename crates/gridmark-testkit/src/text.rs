//! Names and free text: customer names, company names, work-order texts and survey comments in
//! Chinese and English, from templates with slot fills, degree words and negation so that
//! sentiment and topics vary.

use crate::rng::Rng;

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "沈",
    "姚", "卢", "姜", "钟", "陆", "汪", "范", "金", "方", "邵", "钱", "俞", "楼", "应", "章", "毛",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀", "英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "兰", "霞", "平", "刚", "桂", "华", "玉", "萍", "红", "玲", "建", "国", "志",
    "文", "斌", "辉", "鹏", "宇", "浩", "然", "涵", "欣", "怡", "轩", "晨", "思", "雨", "嘉", "琪",
    "俊", "海", "燕", "丹", "晓", "东", "春", "梅", "新", "利", "飞", "林", "波", "佳", "婷", "昊",
];
const EN_FIRST: &[&str] = &[
    "James", "Emily", "Michael", "Sarah", "David", "Anna", "Daniel", "Laura", "Thomas", "Sophie",
    "Kevin", "Grace", "Lucas", "Olivia", "Mark", "Chloe", "Peter", "Hannah", "Ryan", "Julia",
];
const EN_LAST: &[&str] = &[
    "Smith", "Johnson", "Brown", "Miller", "Wilson", "Taylor", "Anderson", "Martin", "Chen",
    "Wang", "Lee", "Walker", "Hall", "Young", "King", "Wright", "Schmidt", "Müller", "Dubois",
    "Rossi",
];

pub fn chinese_name(r: &mut Rng) -> String {
    let mut s = r.pick(SURNAMES).to_string();
    s.push_str(r.pick(GIVEN));
    if r.chance(0.7) {
        s.push_str(r.pick(GIVEN));
    }
    s
}

pub fn english_name(r: &mut Rng) -> String {
    format!("{} {}", r.pick(EN_FIRST), r.pick(EN_LAST))
}

pub fn company_name(r: &mut Rng, region_zh: &str, industry: &str) -> String {
    const WORDS: &[&str] = &[
        "恒达", "新华", "宏远", "金泰", "华美", "鑫源", "东方", "瑞丰", "天成", "永盛", "嘉禾",
        "江南", "汇通", "博远", "正兴", "利民",
    ];
    let what = match industry {
        "retail" => "商贸",
        "restaurant" => "餐饮管理",
        "office" => "科技",
        "hotel" => "酒店管理",
        "school" => "教育咨询",
        "textile" => "纺织",
        "chemical" => "化工",
        "machinery" => "机械制造",
        "electronics" => "电子",
        "food_processing" => "食品",
        "printing" => "印刷包装",
        _ => "实业",
    };
    let place = region_zh.trim_end_matches('区');
    format!("杭州{}{}{}有限公司", place, r.pick(WORDS), what)
}

/// What a work order is about, with the facts its text refers to.
#[derive(Debug, Clone)]
pub enum Topic {
    /// Bill much higher (ratio > 1) or lower than usual.
    HighBill {
        ratio: f64,
        amount_yuan: f64,
        month: u32,
    },
    /// The meter seems broken (stuck, missing data, zero readings).
    MeterFault { days: u32 },
    /// Power cut in the customer's area.
    Outage { hours: u32, heat: bool },
    /// Price went up after the tariff change.
    TariffChange { amount_yuan: f64 },
    /// App payment failures (a software release gone wrong).
    AppPayment,
    /// Suspected theft next door.
    TheftReport,
    /// Applying for a new connection.
    NewConnection { days: u32 },
    /// Paid but still shown in arrears / late fee.
    Arrears,
    /// Complaint about staff or waiting.
    Service { minutes: u32 },
    /// Questions about `tariff`, `billing` or anything else (`other`).
    Question { about: &'static str },
    /// Repair of something at the customer's premises.
    Repair,
    /// Thanks.
    Praise,
    /// Wants to close the account (moving, unhappy).
    Closing,
}

fn degree_zh(r: &mut Rng, anger: f64) -> &'static str {
    if anger > 0.7 {
        r.pick(&["非常", "太", "实在", "特别", "十分"])
    } else if anger > 0.4 {
        r.pick(&["很", "比较", "挺"])
    } else {
        r.pick(&["有点", "稍微有些", "略微"])
    }
}

fn degree_en(r: &mut Rng, anger: f64) -> &'static str {
    if anger > 0.7 {
        r.pick(&["extremely", "really", "totally", "absolutely"])
    } else if anger > 0.4 {
        r.pick(&["quite", "very", "pretty"])
    } else {
        r.pick(&["a bit", "slightly", "somewhat"])
    }
}

fn demand_zh(r: &mut Rng, anger: f64) -> &'static str {
    if anger > 0.7 {
        r.pick(&[
            "请尽快给个说法！",
            "再不处理我就要投诉到上级部门了！",
            "希望你们马上派人来处理，不要再拖了。",
        ])
    } else {
        r.pick(&[
            "请尽快派人检查。",
            "麻烦帮忙核实一下，谢谢。",
            "希望能给个解释。",
        ])
    }
}

fn demand_en(r: &mut Rng, anger: f64) -> &'static str {
    if anger > 0.7 {
        r.pick(&[
            "I demand an explanation immediately!",
            "This is unacceptable, fix it now.",
            "If nobody handles this I will escalate the complaint.",
        ])
    } else {
        r.pick(&[
            "Could someone please check it?",
            "Please look into this, thank you.",
            "I would appreciate an explanation.",
        ])
    }
}

/// Work-order text in `lang` ("zh" or "en") about `topic`; `anger` 0 (calm) … 1 (furious).
pub fn work_order_text(r: &mut Rng, lang: &str, topic: &Topic, anger: f64, place: &str) -> String {
    if lang == "en" {
        return work_order_en(r, topic, anger);
    }
    let deg = degree_zh(r, anger);
    let dem = demand_zh(r, anger);
    match *topic {
        Topic::HighBill {
            ratio,
            amount_yuan,
            month,
        } if ratio >= 1.0 => {
            let times = if ratio >= 1.9 {
                "一倍".to_string()
            } else {
                format!("{}成", ((ratio - 1.0) * 10.0).round().max(1.0))
            };
            match r.below(5) {
                0 => format!("我家这个月电费突然比上个月高了{times}，怀疑电表有问题，{dem}"),
                1 => format!(
                    "{month}月的电费账单{amount_yuan:.0}元，{deg}不合理，平时用电根本没有变化。{dem}"
                ),
                2 => format!(
                    "为什么我的电费这么高？这个月要交{amount_yuan:.0}元，家里没有添什么电器，{dem}"
                ),
                3 => format!("阶梯电价是不是算错了？我家没有用那么多电，账单却多了{times}。{dem}"),
                _ => format!(
                    "抄表是不是抄错了，{month}月电费{deg}离谱，{amount_yuan:.0}元，不可能用这么多电。"
                ),
            }
        }
        Topic::HighBill {
            amount_yuan, month, ..
        } => match r.below(2) {
            0 => format!(
                "{month}月电费只有{amount_yuan:.0}元，比平时少很多，是不是估抄了？麻烦核实一下，免得以后补交。"
            ),
            _ => format!("账单上的电量和电表读数对不上，{month}月好像没有按实际读数抄表。"),
        },
        Topic::MeterFault { days } => match r.below(4) {
            0 => format!("电表好像坏了，读数已经{days}天没有变化，请派人来看看。"),
            1 => format!(
                "APP上显示我家最近{days}天用电量是零，可是家里一直有人住，电表是不是出问题了？"
            ),
            2 => format!("抄表数据不对，电表显示的和网上查到的不一样，{deg}担心电费算错。{dem}"),
            _ => format!("怀疑电表走得不准，最近{days}天的用电记录{deg}奇怪，希望检测一下电表。"),
        },
        Topic::Outage { hours, heat } => {
            let hot = if heat { "天这么热，" } else { "" };
            match r.below(4) {
                0 => {
                    format!("{hot}{place}又停电了，已经{hours}个小时没有来电，{deg}影响生活。{dem}")
                }
                1 => format!("{hot}突然停电，家里老人孩子受不了，没有任何通知，请尽快抢修！"),
                2 => format!(
                    "我们台区经常停电，这周已经第{}次了，冰箱里的东西都坏了。",
                    r.int(2, 4)
                ),
                _ => format!("{place}停电{hours}小时了，打95598一直占线，{deg}着急。"),
            }
        }
        Topic::TariffChange { amount_yuan } => match r.below(3) {
            0 => format!(
                "电价调整后我们店的电费涨了不少，这个月{amount_yuan:.0}元，事先没有收到通知，{deg}不满意。"
            ),
            1 => format!(
                "新的峰谷电价执行后成本明显上升，高峰时段电价{deg}高，能不能解释一下调价依据？"
            ),
            _ => format!("电费单价怎么又变了？没有看到任何公告，{dem}"),
        },
        Topic::AppPayment => match r.below(3) {
            0 => "APP缴费失败，钱扣了但是电费还显示欠费，请尽快处理。".to_string(),
            1 => format!("网上国网APP更新以后一直交不了电费，{deg}不方便。"),
            _ => "用手机缴费总是提示系统繁忙，试了好几次都没有成功。".to_string(),
        },
        Topic::TheftReport => match r.below(2) {
            0 => "怀疑隔壁有人私拉电线偷电，晚上经常看到有线接出来，请派人查一下。".to_string(),
            _ => format!("{place}好像有人绕过电表用电，我们台区的电费是不是被分摊了？"),
        },
        Topic::NewConnection { days } => match r.below(3) {
            0 => "新房装修好了，申请新装电表，请问需要带什么材料？".to_string(),
            1 => format!("报装已经{days}天了还没有接电，{deg}慢，影响开业。"),
            _ => "新开的店面需要办理用电报装，想了解一下流程和时间。".to_string(),
        },
        Topic::Arrears => match r.below(2) {
            0 => format!("已经按时交了电费，系统还显示欠费，还收了违约金，{deg}让人生气。{dem}"),
            _ => "收到欠费停电通知，可是我上周已经在营业厅交过钱了，请核实。".to_string(),
        },
        Topic::Service { minutes } => match r.below(3) {
            0 => format!("营业厅工作人员态度{deg}差，问个问题都不耐烦，也没有解释清楚。"),
            1 => format!("打95598等了{minutes}分钟才接通，客服也没有解决问题，{deg}失望。"),
            _ => format!("在营业厅排队等了{minutes}分钟，只开了一个窗口，{deg}不合理。"),
        },
        Topic::Question { about: "tariff" } => r
            .pick(&[
                "峰谷电价怎么申请？想了解一下谷时段是几点到几点。",
                "请问阶梯电价的第一档是多少度？是按月算还是按年算？",
                "我家装了充电桩，晚上充电能不能按谷电价计费？",
                "想把峰谷电价取消，改回普通电价，需要怎么办理？",
                "店里的电价是按一般工商业执行的吗？有没有更便宜的方案？",
                "听说夏天有尖峰电价，请问是哪几个时段？",
            ])
            .to_string(),
        Topic::Question { about: "billing" } => r
            .pick(&[
                "请问电费发票在哪里下载？需要开增值税专用发票。",
                "想开通电子账单，不要再寄纸质账单了，怎么设置？",
                "这个月的电费账单还没有收到，请问什么时候出账？",
                "可以办理银行代扣电费吗？每个月总是忘记交。",
                "电费余额不足的提醒能不能提前几天发？",
            ])
            .to_string(),
        Topic::Question { .. } => r
            .pick(&[
                "下个月要搬家，请问怎么办理过户和销户？",
                "家里要装充电桩，需要单独申请电表吗？",
                "想在屋顶装光伏，并网需要哪些手续？",
                "请问计划停电的通知在哪里可以查到？",
                "房子出租了，电费户名可以改成租客吗？",
                "营业厅周末上班吗？几点关门？",
            ])
            .to_string(),
        Topic::Repair => match r.below(3) {
            0 => "家里进户线有点松动，一开空调就跳闸，请派师傅来看一下。".to_string(),
            1 => format!("{place}的路灯线路有火花，很危险，请尽快处理。"),
            _ => "电表箱门坏了关不上，下雨天担心漏电。".to_string(),
        },
        Topic::Praise => match r.below(4) {
            0 => format!("抢修师傅{deg}专业，半夜冒雨来修好了线路，非常感谢！"),
            1 => "营业厅的工作人员服务很热情，办理业务很快，点赞。".to_string(),
            2 => "客服耐心解答了我的问题，没有让我多跑一趟，谢谢你们。".to_string(),
            _ => "停电以后很快就来电了，处理及时，辛苦了。".to_string(),
        },
        Topic::Closing => match r.below(3) {
            0 => format!("电费一直这么高，服务也不好，{deg}失望，准备销户。"),
            1 => "公司要搬走了，申请销户，请问剩余电费怎么退？".to_string(),
            _ => "房子卖了，要办理销户，请告诉我需要什么手续。".to_string(),
        },
    }
}

fn work_order_en(r: &mut Rng, topic: &Topic, anger: f64) -> String {
    let deg = degree_en(r, anger);
    let dem = demand_en(r, anger);
    match *topic {
        Topic::HighBill { ratio, amount_yuan, month } if ratio >= 1.0 => match r.below(3) {
            0 => format!("My electricity bill this month is {:.0}% higher than last month. I think the meter is faulty. {dem}", (ratio - 1.0) * 100.0),
            1 => format!("The bill for month {month} is {amount_yuan:.0} yuan, which is {deg} unreasonable. Our usage has not changed. {dem}"),
            _ => format!("Why is my bill so high? We did not use that much power, the tiered price must be wrong. {dem}"),
        },
        Topic::HighBill { month, .. } => format!("The bill for month {month} is much lower than usual. Was it based on an estimated reading? Please check so I don't have to pay it all later."),
        Topic::MeterFault { days } => match r.below(2) {
            0 => format!("The meter reading has not changed for {days} days, it seems broken. {dem}"),
            _ => format!("The app shows zero usage for the last {days} days although we are at home. Is the meter working?"),
        },
        Topic::Outage { hours, heat } => {
            let hot = if heat { " in this heat" } else { "" };
            format!("Power has been out for {hours} hours{hot} and nobody told us anything. This is {deg} frustrating. {dem}")
        }
        Topic::TariffChange { amount_yuan } => format!("After the tariff change our shop paid {amount_yuan:.0} yuan this month. We were not notified, {deg} disappointing."),
        Topic::AppPayment => "Payment in the app failed, the money was taken but the bill still shows unpaid.".to_string(),
        Topic::TheftReport => "I suspect someone next door is bypassing their meter, there are wires running from the meter box.".to_string(),
        Topic::NewConnection { days } => format!("I applied for a new connection {days} days ago and still have no power. {dem}"),
        Topic::Arrears => format!("I paid on time but the system still says I owe money and charged a late fee. {dem}"),
        Topic::Service { minutes } => format!("I waited {minutes} minutes on the 95598 hotline and the agent was not helpful at all. {deg} poor service."),
        Topic::Question { about: "tariff" } => r
            .pick(&[
                "How do I apply for the time-of-use plan? What are the valley hours?",
                "What is the limit of the first tier of the tiered tariff?",
                "Is there a summer peak price for shops? Which hours does it cover?",
            ])
            .to_string(),
        Topic::Question { about: "billing" } => r
            .pick(&[
                "Where can I download the invoice for my electricity bill?",
                "How do I switch to e-billing instead of paper bills?",
                "Can the bill be paid automatically from my bank account?",
            ])
            .to_string(),
        Topic::Question { .. } => r
            .pick(&[
                "I want to install an EV charger, do I need a separate meter?",
                "We are moving next month. How do I transfer the account?",
                "What permits do I need to connect rooftop solar panels?",
            ])
            .to_string(),
        Topic::Repair => "The breaker trips every time we turn on the air conditioner, please send an electrician.".to_string(),
        Topic::Praise => r
            .pick(&[
                "The repair crew came quickly and fixed the line at night, thank you very much!",
                "The staff at the service hall were very friendly and helpful.",
                "Great service, my question was answered right away. Thanks!",
            ])
            .to_string(),
        Topic::Closing => "We are moving out and want to close the account. How do we get the remaining balance back?".to_string(),
    }
}

/// Survey comment matching a satisfaction score 1–5.
pub fn survey_comment(r: &mut Rng, lang: &str, csat: i64) -> String {
    let zh = lang != "en";
    match (csat, zh) {
        (1 | 2, true) => r
            .pick(&[
                "等了很久也没有人处理，非常不满意。",
                "问题到现在还没有解决，太失望了。",
                "客服态度不好，不会再推荐。",
                "电费还是不清楚，解释得不明白。",
            ])
            .to_string(),
        (3, true) => r
            .pick(&[
                "还可以，希望以后处理得更快一点。",
                "一般吧，问题解决了但是过程比较慢。",
                "不算满意，也不算差。",
            ])
            .to_string(),
        (_, true) => r
            .pick(&[
                "服务很好，问题解决得很快。",
                "工作人员很耐心，非常满意！",
                "处理及时，点赞。",
                "没有什么问题，挺满意的。",
            ])
            .to_string(),
        (1 | 2, false) => r
            .pick(&[
                "Nobody solved my problem, very disappointed.",
                "Too slow and not helpful.",
                "Terrible experience.",
            ])
            .to_string(),
        (3, false) => r
            .pick(&["It was okay, but could be faster.", "Average service."])
            .to_string(),
        (_, false) => r
            .pick(&[
                "Very helpful staff, thank you!",
                "Quick and friendly service.",
                "Problem solved, great job.",
            ])
            .to_string(),
    }
}
