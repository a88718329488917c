//! Realistic Kazakhstan customers: Kazakh, Russian and Latin names (Kazakh letters included),
//! companies with their legal forms, valid IINs and BINs, +7 7xx mobile phones, cities with
//! their postal codes, industries, tags with a Zipf skew, mixed statuses and purchase totals
//! that are mostly zero with a long tail.
//!
//! The `n`-th customer of an organization gets an e-mail, IIN and BIN that no other `n` gets,
//! so seeding `0..N` never trips the unique indexes; seeding the same organization again needs
//! another range (`--first`).

use rust_decimal::Decimal;
use time::{Date, Duration, Month, OffsetDateTime};

use customers_domain::events::{CustomerEvent, EventEnvelope};
use customers_domain::lifecycle::ltv::lifetime_value;
use customers_domain::values::tax_id::control_digit;
use customers_domain::values::{Bin, Email, Iin, Phone};
use customers_domain::{
    AddressId, AddressType, CompanySize, ContactId, Coordinates, Customer, CustomerAddress, CustomerContact,
    CustomerId, CustomerStatus, CustomerType, Money, Rating, Scope, SocialMedia, UserId,
};

use crate::rng::{Rng, Zipf};

/// A city customers' addresses are in.
#[derive(Debug, Clone, Copy)]
pub struct City {
    /// Name.
    pub name: &'static str,
    /// Region (oblast); none for the cities of republican significance.
    pub region: Option<&'static str>,
    /// First four digits of its 6-digit postal codes.
    pub postal_prefix: &'static str,
    /// Centre, latitude.
    pub latitude: f64,
    /// Centre, longitude.
    pub longitude: f64,
    /// Relative share of the addresses.
    pub weight: u32,
}

const fn city(
    name: &'static str,
    region: Option<&'static str>,
    postal_prefix: &'static str,
    at: (f64, f64),
    weight: u32,
) -> City {
    City {
        name,
        region,
        postal_prefix,
        latitude: at.0,
        longitude: at.1,
        weight,
    }
}

/// The cities, largest first.
pub const CITIES: &[City] = &[
    city("Алматы", None, "0500", (43.2389, 76.8897), 30),
    city("Астана", None, "0100", (51.1605, 71.4704), 20),
    city("Шымкент", None, "1600", (42.3417, 69.5901), 10),
    city(
        "Караганда",
        Some("Карагандинская область"),
        "1000",
        (49.8047, 73.1094),
        6,
    ),
    city("Актобе", Some("Актюбинская область"), "0300", (50.2839, 57.1670), 5),
    city("Тараз", Some("Жамбылская область"), "0800", (42.9000, 71.3667), 3),
    city("Павлодар", Some("Павлодарская область"), "1400", (52.2873, 76.9674), 3),
    city(
        "Усть-Каменогорск",
        Some("Восточно-Казахстанская область"),
        "0700",
        (49.9483, 82.6275),
        3,
    ),
    city("Семей", Some("Абайская область"), "0714", (50.4111, 80.2275), 2),
    city("Атырау", Some("Атырауская область"), "0600", (47.0945, 51.9238), 4),
    city("Костанай", Some("Костанайская область"), "1100", (53.2144, 63.6246), 2),
    city(
        "Кызылорда",
        Some("Кызылординская область"),
        "1200",
        (44.8488, 65.4823),
        2,
    ),
    city(
        "Уральск",
        Some("Западно-Казахстанская область"),
        "0900",
        (51.2333, 51.3667),
        2,
    ),
    city(
        "Петропавловск",
        Some("Северо-Казахстанская область"),
        "1500",
        (54.8667, 69.1500),
        1,
    ),
    city("Актау", Some("Мангистауская область"), "1300", (43.6500, 51.1667), 2),
    city(
        "Туркестан",
        Some("Туркестанская область"),
        "1612",
        (43.3000, 68.2500),
        1,
    ),
    city("Талдыкорган", Some("Жетісу облысы"), "0400", (45.0167, 78.3667), 1),
    city("Кокшетау", Some("Акмолинская область"), "0200", (53.2833, 69.3833), 1),
    city("Экибастуз", Some("Павлодарская область"), "1412", (51.7236, 75.3228), 1),
    city("Жезказган", Some("Ұлытау облысы"), "1006", (47.7833, 67.7000), 1),
];

/// Industries, most common first (drawn with a Zipf skew).
pub const INDUSTRIES: &[&str] = &[
    "Розничная торговля",
    "Строительство",
    "Оптовая торговля",
    "Логистика",
    "IT",
    "Сельское хозяйство",
    "Производство",
    "Нефть и газ",
    "HoReCa",
    "Горнодобывающая промышленность",
    "Финансы",
    "Образование",
    "Здравоохранение",
    "Телекоммуникации",
    "Энергетика",
    "Фармацевтика",
];

/// Tags, most common first (drawn with a Zipf skew).
pub const TAGS: &[&str] = &[
    "vip",
    "опт",
    "постоянный",
    "новый",
    "b2b",
    "розница",
    "kaspi",
    "тендер",
    "предоплата",
    "рассрочка",
    "дилер",
    "партнёр",
    "экспорт",
    "госзакупки",
    "сезонный",
    "алматы-регион",
    "дистрибьютор",
    "мероприятия",
    "франшиза",
    "ключевой",
    "отсрочка",
    "онлайн",
    "самовывоз",
    "доставка",
    "холдинг",
    "бюджет",
    "crm-import",
    "реферал",
    "спецусловия",
    "черный-список",
];

/// Lead sources.
pub const LEAD_SOURCES: &[&str] = &[
    "Сайт",
    "Kaspi",
    "Instagram",
    "Рекомендация",
    "Выставка",
    "Холодный звонок",
    "2GIS",
    "Тендер",
    "WhatsApp",
    "Telegram",
];

/// Statuses and their share of the customers.
pub const STATUSES: &[(CustomerStatus, u32)] = &[
    (CustomerStatus::Active, 45),
    (CustomerStatus::Lead, 20),
    (CustomerStatus::Prospect, 12),
    (CustomerStatus::Inactive, 13),
    (CustomerStatus::Churned, 10),
];

const KZ_MALE: &[&str] = &[
    "Ерлан",
    "Нурлан",
    "Асет",
    "Бауыржан",
    "Данияр",
    "Айдос",
    "Арман",
    "Ерболат",
    "Тимур",
    "Руслан",
    "Марат",
    "Серик",
    "Жандос",
    "Нурсултан",
    "Алибек",
    "Санжар",
    "Ержан",
    "Кайрат",
    "Дастан",
    "Мирас",
    "Азамат",
    "Берик",
];
const KZ_FEMALE: &[&str] = &[
    "Айгерим",
    "Асель",
    "Динара",
    "Жанар",
    "Гульнара",
    "Айжан",
    "Мадина",
    "Алия",
    "Сауле",
    "Камила",
    "Жазира",
    "Аружан",
    "Томирис",
    "Дана",
    "Индира",
    "Меруерт",
    "Гаухар",
    "Салтанат",
];
const KZ_SURNAMES: &[&str] = &[
    "Нурланов",
    "Жумабеков",
    "Ахметов",
    "Касымов",
    "Оспанов",
    "Абдрахманов",
    "Искаков",
    "Тулегенов",
    "Смагулов",
    "Есенов",
    "Мукашев",
    "Байжанов",
    "Калиев",
    "Садыков",
    "Омаров",
    "Ибраев",
    "Кенжебаев",
    "Султанов",
    "Сейткали",
    "Бекмухамбетов",
    "Утепов",
    "Шаяхметов",
];
const KZ_LETTER_MALE: &[&str] = &[
    "Әлібек",
    "Нұрлан",
    "Ғалым",
    "Қайрат",
    "Өмірзақ",
    "Құдайберген",
    "Еркінбек",
];
const KZ_LETTER_FEMALE: &[&str] = &["Ұлжан", "Әсем", "Жұлдыз", "Айғаным", "Күнсұлу", "Әйгерім", "Гүлнұр"];
const KZ_LETTER_SURNAMES: &[&str] = &[
    "Бөкейханов",
    "Әбішев",
    "Қасымов",
    "Тоқаев",
    "Нұрғалиев",
    "Өтебаев",
    "Құрманов",
    "Ғабдуллин",
];
const RU_MALE: &[&str] = &[
    "Иван",
    "Сергей",
    "Алексей",
    "Дмитрий",
    "Андрей",
    "Николай",
    "Владимир",
    "Павел",
];
const RU_FEMALE: &[&str] = &[
    "Ольга",
    "Елена",
    "Наталья",
    "Татьяна",
    "Екатерина",
    "Ирина",
    "Светлана",
    "Анна",
];
const RU_SURNAMES: &[&str] = &[
    "Петров",
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Соколов",
    "Морозов",
    "Волков",
    "Лебедев",
    "Ким",
    "Пак",
    "Шевченко",
    "Бондаренко",
];
const LATIN_MALE: &[&str] = &[
    "Yerlan", "Nurlan", "Aset", "Daniyar", "Arman", "Timur", "Alikhan", "John", "Mehmet",
];
const LATIN_FEMALE: &[&str] = &[
    "Aigerim", "Assel", "Dinara", "Madina", "Aliya", "Kamila", "Dana", "Emma", "Zhanna",
];
const LATIN_SURNAMES: &[&str] = &[
    "Bekov",
    "Sadykov",
    "Akhmetov",
    "Nurlanov",
    "Omarov",
    "Kassymov",
    "Smith",
    "Yilmaz",
    "Li",
    "Zhumabekov",
    "Iskakov",
];

const COMPANY_STEMS: &[&str] = &[
    "Алтын",
    "Казах",
    "Астана",
    "Алатау",
    "Жетысу",
    "Сарыарка",
    "Каспий",
    "Тенгри",
    "Самрук",
    "Байтерек",
    "Береке",
    "Достык",
    "Нұр",
    "Әлем",
    "Көктем",
    "Шаңырақ",
    "Қазына",
    "Дала",
    "Тау",
    "Ордабасы",
    "Номад",
    "Евразия",
];
const COMPANY_SUFFIXES: &[&str] = &[
    "Строй",
    "Трейд",
    "Логистик",
    "Сервис",
    "Агро",
    "Снаб",
    "Пром",
    "Инвест",
    "Транс",
    "Металл",
    "Фарм",
    "Тех",
    "Энерго",
    "Маркет",
    "Консалт",
    "Импекс",
];
const LATIN_STEMS: &[&str] = &[
    "Qazaq", "Nomad", "Steppe", "Silk Way", "Kazakh", "Tengri", "Altyn", "Caspian", "Arman", "Shanyrak", "Baiterek",
];
const LATIN_SUFFIXES: &[&str] = &[
    "Logistics",
    "Trade",
    "Tech",
    "Invest",
    "Energy",
    "Foods",
    "Mining",
    "Solutions",
    "Group",
    "Motors",
];

const POSITIONS: &[&str] = &[
    "Директор",
    "Генеральный директор",
    "Главный бухгалтер",
    "Менеджер по закупкам",
    "Финансовый директор",
    "Юрист",
    "Руководитель отдела продаж",
    "Офис-менеджер",
    "Коммерческий директор",
];
const DEPARTMENTS: &[&str] = &[
    "Бухгалтерия",
    "Закупки",
    "Продажи",
    "Администрация",
    "Юридический отдел",
];
const STREETS: &[&str] = &[
    "пр. Абая",
    "ул. Толе би",
    "ул. Сатпаева",
    "пр. Назарбаева",
    "ул. Кабанбай батыра",
    "мкр. Самал-2",
    "ул. Жандосова",
    "пр. Аль-Фараби",
    "ул. Розыбакиева",
    "ул. Кенесары",
    "пр. Республики",
    "ул. Байтурсынова",
    "ул. Мәңгілік Ел",
    "ул. Гоголя",
];
const PERSONAL_DOMAINS: &[&str] = &[
    "gmail.com",
    "mail.ru",
    "yandex.kz",
    "inbox.kz",
    "bk.ru",
    "outlook.com",
    "list.ru",
];
/// Mobile operator codes of Kazakhstan (Beeline, Kcell/activ, Tele2/Altel).
const MOBILE_CODES: &[&str] = &[
    "700", "701", "702", "705", "707", "708", "747", "771", "775", "776", "777", "778",
];

/// Managers customers are assigned to.
const MANAGERS: usize = 30;

/// The customer-independent parts of the data: who seeds, when, the managers and the skews.
#[derive(Debug, Clone)]
pub struct Generator {
    scope: Scope,
    actor: UserId,
    now: OffsetDateTime,
    managers: Vec<UserId>,
    tags: Zipf,
    industries: Zipf,
    managers_skew: Zipf,
    city_weights: Vec<u32>,
}

/// A new customer and its `customer.created` (and `customer.assigned`) events.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The customer.
    pub customer: Customer,
    /// Its events.
    pub events: Vec<EventEnvelope>,
}

impl Generator {
    /// Customers of `scope` created by `actor`, at most three years before `now`.
    pub fn new(scope: Scope, actor: UserId, now: OffsetDateTime, seed: u64) -> Self {
        let mut rng = Rng::new(seed ^ 0x6d61_6e61_6765_7273);
        let managers = (0..MANAGERS)
            .map(|_| {
                let bytes = (u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64())).to_le_bytes();
                UserId::from_uuid(uuid::Builder::from_random_bytes(bytes).into_uuid())
            })
            .collect();
        Self {
            scope,
            actor,
            now: micros(now),
            managers,
            tags: Zipf::new(TAGS.len(), 1.1),
            industries: Zipf::new(INDUSTRIES.len(), 0.9),
            managers_skew: Zipf::new(MANAGERS, 0.7),
            city_weights: CITIES.iter().map(|c| c.weight).collect(),
        }
    }

    /// The `n`-th customer out of `total` (`n` decides its e-mail, IIN and BIN; `rng` the rest).
    pub fn customer(&self, rng: &mut Rng, n: u64, total: u64) -> Generated {
        let customer_type = if rng.chance(0.55) {
            CustomerType::Individual
        } else {
            CustomerType::Company
        };
        let status = STATUSES[rng.weighted(&STATUSES.iter().map(|s| s.1).collect::<Vec<_>>())].0;
        // Spread over three years, oldest first, with a little jitter.
        let span = Duration::days(3 * 365);
        let progress = if total == 0 {
            1.0
        } else {
            (n % total.max(1)) as f64 / total as f64
        };
        let jitter = Duration::minutes(rng.range(0, 600) as i64);
        let created_at = micros(self.now - span + span * progress - jitter).min(self.now);
        let person = person(rng);
        let email_local = format!("{}.{}{}", translit(&person.first), translit(&person.last), n);
        let (name, company_name, email, iin, bin) = match customer_type {
            CustomerType::Individual => {
                let email = format!("{email_local}@{}", rng.pick(PERSONAL_DOMAINS));
                let iin = rng.chance(0.85).then(|| iin_for(n, rng)).flatten();
                (person.full(), None, email, iin, None)
            }
            CustomerType::Company => {
                let (name, slug) = company_name(rng, &person);
                let email = format!("info{n}@{slug}.kz");
                if name.starts_with("ИП ") {
                    let iin = iin_for(n, rng);
                    (name.clone(), Some(name), email, iin, None)
                } else {
                    let bin = rng.chance(0.9).then(|| bin_for(n, rng)).flatten();
                    (name.clone(), Some(name), email, None, bin)
                }
            }
        };
        let company = customer_type == CustomerType::Company;
        let industry = (company && rng.chance(0.95) || !company && rng.chance(0.15))
            .then(|| INDUSTRIES[self.industries.sample(rng)].to_owned());
        let company_size = company.then(|| {
            [
                CompanySize::Micro,
                CompanySize::Small,
                CompanySize::Medium,
                CompanySize::Large,
                CompanySize::Enterprise,
            ][rng.weighted(&[45, 30, 15, 6, 4])]
        });
        let credit_limit = if company && rng.chance(0.4) {
            money(Decimal::from(*rng.pick(&[
                500_000u64, 1_000_000, 2_000_000, 5_000_000, 10_000_000, 50_000_000,
            ])))
        } else {
            Money::round(Decimal::ZERO)
        };
        let current_balance = if credit_limit.amount() > Decimal::ZERO && rng.chance(0.3) {
            money(credit_limit.amount() * Decimal::from(rng.range(1, 90)) / Decimal::from(100))
        } else {
            Money::round(Decimal::ZERO)
        };
        let rating =
            Rating::parse(rng.weighted(&[2, 3, 5, 8, 20, 18, 15, 12, 10, 7]) as i64 + 1).unwrap_or(Rating::DEFAULT);
        let buys = matches!(
            status,
            CustomerStatus::Active | CustomerStatus::Inactive | CustomerStatus::Churned
        ) && rng.chance(0.75);
        let (total_purchases, purchase_count, first_purchase_date, last_purchase_date) = if buys {
            // Pareto (x_m = 20,000 KZT, α = 1.1): most buy a little, a few buy a lot.
            let total = (20_000.0 / (1.0 - rng.unit()).powf(1.0 / 1.1)).min(2_000_000_000.0);
            let cents = (total * 100.0).round() as i64;
            let average_order = 15_000.0 + rng.unit() * 85_000.0;
            let count = ((total / average_order).ceil() as i32).clamp(1, 5_000);
            let first = micros(created_at + Duration::days(rng.range(0, 30) as i64)).min(self.now);
            let room = (self.now - first).whole_days().max(0) as u64;
            let last = micros(first + Duration::days(rng.range(0, room) as i64)).min(self.now);
            (Money::round(Decimal::new(cents, 2)), count, Some(first), Some(last))
        } else {
            (Money::round(Decimal::ZERO), 0, None, None)
        };
        let lifetime = lifetime_value(
            total_purchases,
            purchase_count,
            first_purchase_date,
            created_at,
            status,
            rating,
            self.now,
        );
        let converted_at = matches!(
            status,
            CustomerStatus::Active | CustomerStatus::Inactive | CustomerStatus::Churned
        )
        .then(|| rng.chance(0.7))
        .filter(|c| *c)
        .map(|_| micros(created_at + Duration::days(rng.range(1, 60) as i64)).min(self.now));
        let assigned_to = rng.chance(0.8).then(|| self.managers[self.managers_skew.sample(rng)]);
        let is_active = match status {
            CustomerStatus::Churned => false,
            CustomerStatus::Inactive => rng.chance(0.7),
            _ => true,
        };
        let id = CustomerId::new();
        let contact_count = 1 + rng.weighted(&[50, 35, 15]);
        let contacts = (0..contact_count)
            .map(|k| {
                self.contact(
                    rng,
                    id,
                    n,
                    k,
                    created_at,
                    k == 0,
                    (k == 0 && !company).then_some(&person),
                )
            })
            .collect();
        let address_count = 1 + rng.weighted(&[65, 35]);
        let addresses = (0..address_count)
            .map(|k| self.address(rng, id, k, created_at))
            .collect();
        let tag_count = rng.weighted(&[25, 30, 25, 12, 8]);
        let mut tags: Vec<String> = Vec::with_capacity(tag_count);
        for _ in 0..tag_count {
            let tag = TAGS[self.tags.sample(rng)];
            if !tags.iter().any(|t| t == tag) {
                tags.push(tag.to_owned());
            }
        }
        let custom_fields = rng.chance(0.2).then(|| {
            let mut map = serde_json::Map::new();
            map.insert("erpCode".into(), format!("C-{n:07}").into());
            map.insert(
                "segment".into(),
                (*rng.pick(&["SMB", "Enterprise", "Retail", "Gov"])).into(),
            );
            map
        });
        let updated_at = if rng.chance(0.3) {
            let room = (self.now - created_at).whole_minutes().max(0) as u64;
            micros(created_at + Duration::minutes(rng.range(0, room) as i64)).min(self.now)
        } else {
            created_at
        };
        let customer = Customer {
            id,
            organization_id: self.scope.organization_id,
            workspace_id: self.scope.workspace_id,
            customer_type,
            status,
            name,
            email: Email::parse(&email).unwrap_or_else(|e| panic!("generated e-mail {email:?}: {e}")),
            phone: rng.chance(0.9).then(|| mobile(rng)),
            iin,
            bin,
            company_name,
            company_size,
            industry,
            credit_limit,
            current_balance,
            custom_fields,
            tags,
            lead_source: rng.chance(0.7).then(|| (*rng.pick(LEAD_SOURCES)).to_owned()),
            first_purchase_date,
            last_purchase_date,
            total_purchases,
            purchase_count,
            lifetime_value: lifetime,
            rating,
            assigned_to,
            is_active,
            contacts,
            addresses,
            converted_at,
            version: 1,
            created_at,
            updated_at,
            created_by: Some(self.actor),
            updated_by: Some(self.actor),
        };
        let events = self.events(&customer);
        Generated { customer, events }
    }

    /// What the service writes with an imported customer: `customer.created` (source
    /// `import`), and `customer.assigned` when it has a manager.
    fn events(&self, customer: &Customer) -> Vec<EventEnvelope> {
        let mut events = vec![EventEnvelope::new(
            customer,
            self.actor,
            customer.created_at,
            CustomerEvent::Created {
                customer_type: customer.customer_type,
                status: customer.status,
                created_by: self.actor,
                source: Some("import".into()),
            },
        )];
        if customer.assigned_to.is_some() {
            events.push(EventEnvelope::new(
                customer,
                self.actor,
                customer.created_at,
                CustomerEvent::Assigned {
                    assigned_to: customer.assigned_to,
                    assigned_by: self.actor,
                },
            ));
        }
        events
    }

    #[allow(clippy::too_many_arguments)]
    fn contact(
        &self,
        rng: &mut Rng,
        customer_id: CustomerId,
        n: u64,
        k: usize,
        at: OffsetDateTime,
        primary: bool,
        same_person: Option<&Person>,
    ) -> CustomerContact {
        let person = same_person.cloned().unwrap_or_else(|| person(rng));
        let email = format!(
            "{}.{}{n}{k}@{}",
            translit(&person.first),
            translit(&person.last),
            rng.pick(PERSONAL_DOMAINS)
        );
        CustomerContact {
            id: ContactId::new(),
            customer_id,
            first_name: person.first.clone(),
            last_name: person.last.clone(),
            middle_name: person.middle.clone(),
            position: rng.chance(0.8).then(|| (*rng.pick(POSITIONS)).to_owned()),
            department: rng.chance(0.4).then(|| (*rng.pick(DEPARTMENTS)).to_owned()),
            email: Email::parse(&email).unwrap_or_else(|e| panic!("generated e-mail {email:?}: {e}")),
            phone: mobile(rng),
            mobile_phone: rng.chance(0.5).then(|| mobile(rng)),
            is_primary: primary,
            is_decision_maker: rng.chance(0.3),
            social_media: rng.chance(0.3).then(|| SocialMedia {
                linkedin: None,
                telegram: Some(format!("@{}_{}", translit(&person.first), n % 1000)),
                whatsapp: None,
            }),
            notes: rng.chance(0.1).then(|| "Звонить после 14:00".to_owned()),
            created_at: at,
            updated_at: at,
        }
    }

    fn address(&self, rng: &mut Rng, customer_id: CustomerId, k: usize, at: OffsetDateTime) -> CustomerAddress {
        let city = CITIES[rng.weighted(&self.city_weights)];
        let address_type = if k == 0 {
            AddressType::Billing
        } else {
            *rng.pick(&[AddressType::Shipping, AddressType::Office, AddressType::Warehouse])
        };
        let coordinates = rng.chance(0.5).then(|| Coordinates {
            latitude: ((city.latitude + (rng.unit() - 0.5) * 0.1) * 1e6).round() / 1e6,
            longitude: ((city.longitude + (rng.unit() - 0.5) * 0.1) * 1e6).round() / 1e6,
        });
        CustomerAddress {
            id: AddressId::new(),
            customer_id,
            address_type,
            street: format!("{}, {}", rng.pick(STREETS), rng.range(1, 250)),
            building: rng
                .chance(0.3)
                .then(|| format!("{}{}", rng.range(1, 12), rng.pick(&["", "А", "Б"]))),
            apartment: rng.chance(0.5).then(|| {
                if rng.chance(0.5) {
                    format!("офис {}", rng.range(1, 900))
                } else {
                    format!("кв. {}", rng.range(1, 300))
                }
            }),
            city: city.name.to_owned(),
            region: city.region.map(str::to_owned),
            postal_code: format!("{}{:02}", city.postal_prefix, rng.below(64)),
            country: "Kazakhstan".to_owned(),
            is_primary: true,
            contact_name: None,
            contact_phone: rng.chance(0.2).then(|| mobile(rng)),
            delivery_instructions: (address_type != AddressType::Billing && rng.chance(0.3))
                .then(|| "Позвонить за 30 минут".to_owned()),
            coordinates,
            created_at: at,
            updated_at: at,
        }
    }
}

/// A person's name.
#[derive(Debug, Clone)]
pub struct Person {
    first: String,
    last: String,
    middle: Option<String>,
}

impl Person {
    fn full(&self) -> String {
        format!("{} {}", self.first, self.last)
    }
}

fn person(rng: &mut Rng) -> Person {
    let female = rng.chance(0.5);
    let culture = rng.weighted(&[45, 15, 25, 15]);
    let (firsts, lasts) = match (culture, female) {
        (0, false) => (KZ_MALE, KZ_SURNAMES),
        (0, true) => (KZ_FEMALE, KZ_SURNAMES),
        (1, false) => (KZ_LETTER_MALE, KZ_LETTER_SURNAMES),
        (1, true) => (KZ_LETTER_FEMALE, KZ_LETTER_SURNAMES),
        (2, false) => (RU_MALE, RU_SURNAMES),
        (2, true) => (RU_FEMALE, RU_SURNAMES),
        (_, false) => (LATIN_MALE, LATIN_SURNAMES),
        (_, true) => (LATIN_FEMALE, LATIN_SURNAMES),
    };
    let mut last = (*rng.pick(lasts)).to_owned();
    if female && (last.ends_with("ов") || last.ends_with("ев") || last.ends_with("ин") || last.ends_with("ov")) {
        last.push(if culture == 3 { 'a' } else { 'а' });
    }
    let middle = (culture != 3 && rng.chance(0.4)).then(|| {
        let father = rng.pick(if culture == 2 { RU_MALE } else { KZ_MALE });
        let stem = father.trim_end_matches('й');
        if female {
            format!("{stem}овна")
        } else {
            format!("{stem}ович")
        }
    });
    Person {
        first: (*rng.pick(firsts)).to_owned(),
        last,
        middle,
    }
}

/// A company name and a Latin slug for its e-mail domain.
fn company_name(rng: &mut Rng, owner: &Person) -> (String, String) {
    match rng.weighted(&[55, 20, 8, 12, 5]) {
        0 | 2 => {
            let (stem, suffix) = (rng.pick(COMPANY_STEMS), rng.pick(COMPANY_SUFFIXES));
            let form = if rng.chance(0.8) { "ТОО" } else { "АО" };
            let slug = format!("{}{}", translit(stem), translit(suffix));
            (format!("{form} «{stem} {suffix}»"), slug)
        }
        1 => {
            let initial = owner.first.chars().next().unwrap_or('А');
            (
                format!("ИП {} {initial}.", owner.last),
                format!("ip-{}", translit(&owner.last)),
            )
        }
        3 => {
            let (stem, suffix) = (rng.pick(LATIN_STEMS), rng.pick(LATIN_SUFFIXES));
            let form = *rng.pick(&["LLP", "LLC", "JSC"]);
            let slug = format!("{}-{}", translit(stem), translit(suffix));
            (format!("{stem} {suffix} {form}"), slug)
        }
        _ => {
            let (stem, suffix) = (rng.pick(COMPANY_STEMS), rng.pick(COMPANY_SUFFIXES));
            let slug = format!("{}{}", translit(stem), translit(suffix));
            (format!("ЖШС «{stem}{}»", suffix.to_lowercase()), slug)
        }
    }
}

/// A Kazakhstan mobile number, `+7 7xx xxx xx xx`.
pub fn mobile(rng: &mut Rng) -> Phone {
    let number = format!("+7{}{:07}", rng.pick(MOBILE_CODES), rng.below(10_000_000));
    // Well-formed E.164 of a mobile range: the numbering plan accepts it (see the tests), so
    // the (slow) full parse is skipped here.
    Phone::from_stored(&number).unwrap_or_else(|e| panic!("generated phone {number}: {e}"))
}

/// A valid IIN that no other `n` gets: the birth date (1950–2004) comes from `n / 10,000`,
/// the serial (digits 8–11) from `n % 10,000`, the sex at random. `None` in the rare case
/// that neither sex gives an issuable control digit.
pub fn iin_for(n: u64, rng: &mut Rng) -> Option<Iin> {
    let day = ((n / 10_000) * 7_919) % 20_000;
    let birth = Date::from_calendar_date(1950, Month::January, 1).ok()? + Duration::days(day as i64);
    let (year, month, dom) = (birth.year(), u8::from(birth.month()), birth.day());
    let century = if year >= 2000 { 5 } else { 3 };
    let sex = rng.below(2) as u8;
    for digit in [century + sex, century + 1 - sex] {
        let first = format!("{:02}{month:02}{dom:02}{digit}{:04}", year % 100, n % 10_000);
        if let Some(iin) = complete(&first).and_then(|raw| Iin::parse(&raw).ok()) {
            return Some(iin);
        }
    }
    None
}

/// A valid BIN that no other `n` gets: registration month (1995–2024) from `n / 100,000`,
/// serial (digits 7–11) from `n % 100,000`, a resident legal entity's head office, branch or
/// representative office. `None` when no attribute gives an issuable control digit.
pub fn bin_for(n: u64, rng: &mut Rng) -> Option<Bin> {
    let month_index = ((n / 100_000) * 7) % 360;
    let (year, month) = (1995 + month_index / 12, 1 + month_index % 12);
    let attribute = rng.weighted(&[85, 10, 5]) as u8;
    for a in [attribute, (attribute + 1) % 3, (attribute + 2) % 3] {
        let first = format!("{:02}{month:02}4{a}{:05}", year % 100, n % 100_000);
        if let Some(bin) = complete(&first).and_then(|raw| Bin::parse(&raw).ok()) {
            return Some(bin);
        }
    }
    None
}

/// Completes 11 digits with their control digit; `None` when such a number is never issued.
fn complete(first_eleven: &str) -> Option<String> {
    let digits: [u8; 11] = first_eleven
        .bytes()
        .map(|b| b.wrapping_sub(b'0'))
        .collect::<Vec<_>>()
        .try_into()
        .ok()?;
    control_digit(&digits).map(|c| format!("{first_eleven}{c}"))
}

/// Lower-case ASCII for e-mail addresses and domains: Cyrillic and Kazakh letters
/// transliterated, everything else but letters and digits dropped.
pub fn translit(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        let latin = match c {
            'а' | 'ә' => "a",
            'б' => "b",
            'в' => "v",
            'г' | 'ғ' => "g",
            'д' => "d",
            'е' | 'ё' | 'э' => "e",
            'ж' => "zh",
            'з' => "z",
            'и' | 'й' | 'і' => "i",
            'к' | 'қ' => "k",
            'л' => "l",
            'м' => "m",
            'н' | 'ң' => "n",
            'о' | 'ө' => "o",
            'п' => "p",
            'р' => "r",
            'с' => "s",
            'т' => "t",
            'у' | 'ұ' | 'ү' => "u",
            'ф' => "f",
            'х' | 'һ' => "kh",
            'ц' => "ts",
            'ч' => "ch",
            'ш' => "sh",
            'щ' => "shch",
            'ы' => "y",
            'ю' => "yu",
            'я' => "ya",
            'ъ' | 'ь' => "",
            c if c.is_ascii_alphanumeric() => {
                out.push(c);
                continue;
            }
            _ => "",
        };
        out.push_str(latin);
    }
    out
}

fn money(amount: Decimal) -> Money {
    Money::round(amount)
}

/// `at` truncated to whole microseconds (what the stores keep).
fn micros(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_nanosecond(at.nanosecond() / 1_000 * 1_000).unwrap_or(at)
}

/// The JSON body of `POST /customers` for `customer` (no IIN or BIN, so that repeated runs
/// do not collide with each other or with the seeded customers).
pub fn create_body(customer: &Customer) -> serde_json::Value {
    let contacts: Vec<serde_json::Value> = customer
        .contacts
        .iter()
        .map(|c| {
            serde_json::json!({
                "firstName": c.first_name,
                "lastName": c.last_name,
                "middleName": c.middle_name,
                "position": c.position,
                "email": c.email.as_str(),
                "phone": c.phone.as_str(),
                "mobilePhone": c.mobile_phone.as_ref().map(Phone::as_str),
                "isPrimary": c.is_primary,
                "isDecisionMaker": c.is_decision_maker,
            })
        })
        .collect();
    let addresses: Vec<serde_json::Value> = customer
        .addresses
        .iter()
        .map(|a| {
            serde_json::json!({
                "type": a.address_type.as_str(),
                "street": a.street,
                "building": a.building,
                "apartment": a.apartment,
                "city": a.city,
                "region": a.region,
                "postalCode": a.postal_code,
                "country": a.country,
                "isPrimary": a.is_primary,
                "coordinates": a.coordinates,
            })
        })
        .collect();
    serde_json::json!({
        "type": customer.customer_type.as_str(),
        "name": customer.name,
        "email": customer.email.as_str(),
        "phone": customer.phone.as_ref().map(Phone::as_str),
        "companyName": customer.company_name,
        "companySize": customer.company_size.map(|s| s.as_str()),
        "industry": customer.industry,
        "creditLimit": customer.credit_limit.amount().to_string(),
        "status": customer.status.as_str(),
        "leadSource": customer.lead_source,
        "contacts": contacts,
        "addresses": addresses,
        "tags": customer.tags,
        "assignedTo": customer.assigned_to,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use customers_domain::commands::{AddressDraft, ContactDraft, CustomerDraft};
    use customers_domain::values::KzPostalCode;
    use customers_domain::{OrganizationId, WorkspaceId};

    use super::*;

    fn generator() -> Generator {
        let scope = Scope::new(OrganizationId::new(), WorkspaceId::new());
        Generator::new(scope, UserId::new(), OffsetDateTime::now_utc(), 1)
    }

    /// The draft a client would send for `c`: parsing it runs every rule of the domain.
    fn draft(c: &Customer) -> CustomerDraft {
        CustomerDraft {
            phone: c.phone.as_ref().map(|p| p.as_str().to_owned()),
            iin: c.iin.as_ref().map(|v| v.as_str().to_owned()),
            bin: c.bin.as_ref().map(|v| v.as_str().to_owned()),
            company_name: c.company_name.clone(),
            company_size: c.company_size,
            industry: c.industry.clone(),
            credit_limit: Some(c.credit_limit.amount()),
            status: Some(c.status),
            lead_source: c.lead_source.clone(),
            contacts: c
                .contacts
                .iter()
                .map(|k| ContactDraft {
                    first_name: k.first_name.clone(),
                    last_name: k.last_name.clone(),
                    middle_name: k.middle_name.clone(),
                    position: k.position.clone(),
                    department: k.department.clone(),
                    email: k.email.as_str().to_owned(),
                    phone: k.phone.as_str().to_owned(),
                    mobile_phone: k.mobile_phone.as_ref().map(|p| p.as_str().to_owned()),
                    is_primary: Some(k.is_primary),
                    is_decision_maker: Some(k.is_decision_maker),
                    ..ContactDraft::default()
                })
                .collect(),
            addresses: c
                .addresses
                .iter()
                .map(|a| AddressDraft {
                    building: a.building.clone(),
                    apartment: a.apartment.clone(),
                    region: a.region.clone(),
                    country: Some(a.country.clone()),
                    is_primary: Some(a.is_primary),
                    contact_phone: a.contact_phone.as_ref().map(|p| p.as_str().to_owned()),
                    delivery_instructions: a.delivery_instructions.clone(),
                    coordinates: a.coordinates,
                    ..AddressDraft::new(a.address_type, &a.street, &a.city, &a.postal_code)
                })
                .collect(),
            custom_fields: c.custom_fields.clone().map(serde_json::Value::Object),
            tags: c.tags.clone(),
            assigned_to: c.assigned_to.map(UserId::into_uuid),
            ..CustomerDraft::new(c.customer_type, &c.name, c.email.as_str())
        }
    }

    #[test]
    fn generated_customers_pass_every_domain_rule() {
        let generator = generator();
        let mut rng = Rng::new(3);
        for n in 0..3_000 {
            let Generated { customer, events } = generator.customer(&mut rng, n, 3_000);
            let parsed = draft(&customer)
                .parse()
                .unwrap_or_else(|e| panic!("customer {n} {customer:?}: {e}"));
            let built = parsed.into_customer(customer.scope(), UserId::new(), customer.created_at);
            assert_eq!(built.email, customer.email);
            assert_eq!(built.phone, customer.phone);
            assert_eq!(built.tags, customer.tags);
            for (a, b) in built.contacts.iter().zip(&customer.contacts) {
                assert_eq!((&a.phone, &a.mobile_phone), (&b.phone, &b.mobile_phone));
            }
            assert!(!customer.contacts.is_empty() && customer.contacts.len() <= 3);
            assert!(!customer.addresses.is_empty() && customer.addresses.len() <= 2);
            for a in &customer.addresses {
                assert!(KzPostalCode::parse(&a.postal_code).is_ok(), "{}", a.postal_code);
            }
            assert!(customer.created_at <= customer.updated_at);
            assert_eq!(events[0].event.type_name(), "customer.created");
            assert_eq!(events.len(), 1 + usize::from(customer.assigned_to.is_some()));
        }
    }

    #[test]
    fn phones_are_what_the_numbering_plan_makes_of_them() {
        let mut rng = Rng::new(5);
        for _ in 0..2_000 {
            let phone = mobile(&mut rng);
            assert_eq!(Phone::parse(phone.as_str()).as_ref(), Ok(&phone));
        }
    }

    #[test]
    fn tax_ids_are_valid_and_unique_per_n() {
        let mut rng = Rng::new(9);
        let mut iins = HashSet::new();
        let mut bins = HashSet::new();
        let mut missing = 0;
        let ns: Vec<u64> = (0..300_000).chain((300_000..5_000_000).step_by(37)).collect();
        for &n in &ns {
            match iin_for(n, &mut rng) {
                Some(iin) => assert!(iins.insert(iin.as_str()[..11].to_owned()), "IIN of {n}"),
                None => missing += 1,
            }
            match bin_for(n, &mut rng) {
                Some(bin) => assert!(bins.insert(bin.as_str()[..11].to_owned()), "BIN of {n}"),
                None => missing += 1,
            }
        }
        assert!(missing * 1_000 < ns.len(), "{missing} of {}", ns.len());
    }

    #[test]
    fn names_mix_scripts_and_statuses_mix() {
        let generator = generator();
        let mut rng = Rng::new(11);
        let customers: Vec<Customer> = (0..5_000)
            .map(|n| generator.customer(&mut rng, n, 5_000).customer)
            .collect();
        let latin = customers.iter().filter(|c| c.name.is_ascii()).count();
        let kazakh = customers
            .iter()
            .filter(|c| {
                c.name
                    .chars()
                    .any(|ch| "әғқңөұүһі".contains(ch.to_lowercase().next().unwrap_or(ch)))
            })
            .count();
        assert!(latin > 200 && kazakh > 200, "latin {latin}, kazakh {kazakh}");
        let zero = customers
            .iter()
            .filter(|c| c.total_purchases.amount().is_zero())
            .count();
        assert!(zero > 2_000 && zero < 4_500, "{zero}");
        let statuses: HashSet<_> = customers.iter().map(|c| c.status).collect();
        assert_eq!(statuses.len(), 5);
        let emails: HashSet<_> = customers.iter().map(|c| c.email.clone()).collect();
        assert_eq!(emails.len(), customers.len());
    }

    #[test]
    fn translit_is_plain_ascii() {
        assert_eq!(translit("Әлібек Құрманов"), "alibekkurmanov");
        assert_eq!(translit("Silk Way"), "silkway");
    }
}
