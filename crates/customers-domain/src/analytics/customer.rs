//! The analytics of one customer: what its orders, notes and the read model of other
//! modules say, over a period and as of a moment. Everything here is derived from stored
//! data, or absent; nothing is invented.
//!
//! # Period
//!
//! An [`AnalyticsPeriod`] is `[from, to)` seen at `as_of`: an order counts when it was
//! completed inside it, at or before `as_of`, and not cancelled or refunded by `as_of`.
//! Without bounds the period is the whole history up to `as_of`.
//!
//! # Definitions
//!
//! | field | definition |
//! |---|---|
//! | `total_purchases` | sum of the counted orders' totals (what the customer paid) |
//! | `purchase_count` | counted orders |
//! | `average_order_value` | `total_purchases / purchase_count`, absent without orders |
//! | `first/last_purchase` | the first and last counted order |
//! | `days_since_last_purchase` | whole days from the last counted order to `as_of` |
//! | `purchase_frequency` | orders per month: `purchase_count` over the months (of 365.25/12 days, at least one) from the first counted order to the period's end (`to` or `as_of`, the earlier) |
//! | `top_categories` | per item category: line amounts and the orders holding it, by amount (5) |
//! | `top_products` | per product: quantity and line amounts, by amount (5) |
//! | `total_revenue` | sum of the counted orders' line amounts |
//! | `total_profit` | `Σ (amount − cost)` over those lines; absent unless every line has its cost |
//! | `profit_margin` | `total_profit / total_revenue`, 4 decimals |
//! | `outstanding_balance` | the customer's current balance |
//! | `credit_utilization` | `outstanding_balance / credit_limit`, 4 decimals; absent without a credit limit |
//! | `total_interactions` | notes, orders (completion and reversal), won deals, invoices and payments in the period |
//! | `last_interaction` | the latest of them |
//! | `preferred_channel` | the channel of most notes in the period (ties: the one used last) |
//! | `response_rate` | share of the period's inbound notes followed by an outbound note within 48 hours, 4 decimals |

use std::collections::HashMap;

use rust_decimal::{Decimal, RoundingStrategy};
use time::{Duration, OffsetDateTime};

use crate::error::ValidationErrors;
use crate::integration::timeline::Activity;
use crate::integration::{OrderStatus, Purchase};
use crate::model::{Customer, NoteChannel, NoteDirection};
use crate::money::Money;

/// How many categories and products the analytics list.
pub const TOP: usize = 5;

/// How soon an outbound interaction must follow an inbound one to answer it.
pub const RESPONSE_WINDOW: Duration = Duration::hours(48);

/// Days in a month of `purchase_frequency`: a twelfth of a Julian year.
const DAYS_PER_MONTH: Decimal = Decimal::from_parts(304_375, 0, 0, false, 4);

/// Decimals of the ratios (margins, utilization, rates).
const RATIO_SCALE: u32 = 4;

/// The period of the analytics: `[from, to)` as known at `as_of`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnalyticsPeriod {
    from: Option<OffsetDateTime>,
    to: Option<OffsetDateTime>,
    as_of: OffsetDateTime,
}

impl AnalyticsPeriod {
    /// Checks that `from` is before `to`; the field names are those of the query (`from`, `to`).
    pub fn new(
        from: Option<OffsetDateTime>,
        to: Option<OffsetDateTime>,
        as_of: OffsetDateTime,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if let (Some(from), Some(to)) = (from, to)
            && from >= to
        {
            errors.push("to", "must be after from");
        }
        errors.into_result(|| Self { from, to, as_of })
    }

    /// The start, if bounded.
    pub const fn from(&self) -> Option<OffsetDateTime> {
        self.from
    }

    /// The end (exclusive), if bounded.
    pub const fn to(&self) -> Option<OffsetDateTime> {
        self.to
    }

    /// The moment the analytics describe.
    pub const fn as_of(&self) -> OffsetDateTime {
        self.as_of
    }

    /// Whether something that happened `at` falls in the period, as seen at `as_of`.
    pub fn contains(&self, at: OffsetDateTime) -> bool {
        at <= self.as_of && self.from.is_none_or(|from| at >= from) && self.to.is_none_or(|to| at < to)
    }

    /// Whether `order` counts: completed in the period and not reversed by `as_of`.
    pub fn counts(&self, order: &Purchase) -> bool {
        self.contains(order.completed_at)
            && match order.status {
                OrderStatus::Completed => true,
                OrderStatus::Cancelled | OrderStatus::Refunded => order.reversed_at.is_some_and(|r| r > self.as_of),
            }
    }

    /// The end of the period as far as it is known: `to` or `as_of`, the earlier.
    pub fn end(&self) -> OffsetDateTime {
        self.to.map_or(self.as_of, |to| to.min(self.as_of))
    }
}

/// Sales of one item category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategorySales {
    /// The category.
    pub category: String,
    /// Its line amounts.
    pub amount: Money,
    /// Orders with at least one line of it.
    pub count: u64,
}

/// Sales of one product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductSales {
    /// Product id.
    pub product_id: String,
    /// Its name on the latest order.
    pub product_name: String,
    /// Quantity bought.
    pub quantity: Decimal,
    /// Line amounts.
    pub amount: Money,
}

/// The interactions with a customer in a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interactions {
    /// Notes, orders, deals, invoices and payments.
    pub total: u64,
    /// The latest of them.
    pub last_at: Option<OffsetDateTime>,
    /// The channel of most notes.
    pub preferred_channel: Option<NoteChannel>,
    /// Share of inbound notes answered by an outbound note within [`RESPONSE_WINDOW`].
    pub response_rate: Option<Decimal>,
}

/// The analytics derived from a customer's own data (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerFigures {
    /// Sum of the counted orders' totals.
    pub total_purchases: Money,
    /// Counted orders.
    pub purchase_count: u64,
    /// `total_purchases / purchase_count`.
    pub average_order_value: Option<Money>,
    /// The design's heuristic lifetime value, as stored on the customer.
    pub lifetime_value: Money,
    /// The first counted order.
    pub first_purchase: Option<OffsetDateTime>,
    /// The last counted order.
    pub last_purchase: Option<OffsetDateTime>,
    /// Whole days from the last counted order to `as_of`.
    pub days_since_last_purchase: Option<i64>,
    /// Orders per month.
    pub purchase_frequency: Option<Decimal>,
    /// Categories by line amount.
    pub top_categories: Vec<CategorySales>,
    /// Products by line amount.
    pub top_products: Vec<ProductSales>,
    /// Sum of the line amounts.
    pub total_revenue: Money,
    /// Line amounts minus costs, when every line has a cost.
    pub total_profit: Option<Money>,
    /// `total_profit / total_revenue`.
    pub profit_margin: Option<Decimal>,
    /// The customer's current balance.
    pub outstanding_balance: Money,
    /// `outstanding_balance / credit_limit`.
    pub credit_utilization: Option<Decimal>,
    /// Interactions.
    pub interactions: Interactions,
    /// Every product the customer bought up to `as_of` (in any period), sorted: what
    /// recommendations leave out.
    pub bought_products: Vec<String>,
}

/// Computes the figures of `customer` from all its orders and its activity (notes and the
/// read model's orders, deals, invoices and payments), over `period`.
pub fn figures(
    customer: &Customer,
    orders: &[Purchase],
    activity: &[Activity],
    period: &AnalyticsPeriod,
) -> CustomerFigures {
    let counted: Vec<&Purchase> = orders.iter().filter(|o| period.counts(o)).collect();
    let total_purchases: Decimal = counted.iter().map(|o| o.total_amount.amount()).sum();
    let purchase_count = counted.len() as u64;
    let first_purchase = counted.iter().map(|o| o.completed_at).min();
    let last_purchase = counted.iter().map(|o| o.completed_at).max();

    let lines = counted.iter().flat_map(|o| o.items.iter());
    let total_revenue: Decimal = lines.clone().map(|i| i.amount.amount()).sum();
    let costs: Option<Decimal> = lines.clone().map(|i| i.cost.map(|c| c.amount())).sum();
    let any_line = lines.clone().next().is_some();
    let total_profit = costs.filter(|_| any_line).map(|cost| total_revenue - cost);

    let mut bought: Vec<String> = orders
        .iter()
        .filter(|o| {
            let whole_history = AnalyticsPeriod {
                from: None,
                to: None,
                as_of: period.as_of,
            };
            whole_history.counts(o)
        })
        .flat_map(|o| o.items.iter().map(|i| i.product_id.clone()))
        .collect();
    bought.sort();
    bought.dedup();

    CustomerFigures {
        total_purchases: Money::round(total_purchases),
        purchase_count,
        average_order_value: (purchase_count > 0)
            .then(|| Money::round(total_purchases / Decimal::from(purchase_count))),
        lifetime_value: customer.lifetime_value,
        first_purchase,
        last_purchase,
        days_since_last_purchase: last_purchase.map(|last| (period.as_of - last).whole_days().max(0)),
        purchase_frequency: first_purchase.map(|first| frequency(purchase_count, first, period.end())),
        top_categories: top_categories(&counted),
        top_products: top_products(&counted),
        total_revenue: Money::round(total_revenue),
        total_profit: total_profit.map(Money::round),
        profit_margin: total_profit.and_then(|profit| ratio(profit, total_revenue)),
        outstanding_balance: customer.current_balance,
        credit_utilization: ratio(customer.current_balance.amount(), customer.credit_limit.amount()),
        interactions: interactions(activity, period),
        bought_products: bought,
    }
}

/// `numerator / denominator` to [`RATIO_SCALE`] decimals (trailing zeros dropped); absent when the denominator is not
/// positive.
fn ratio(numerator: Decimal, denominator: Decimal) -> Option<Decimal> {
    if denominator <= Decimal::ZERO {
        return None;
    }
    numerator.checked_div(denominator).map(|r| {
        r.round_dp_with_strategy(RATIO_SCALE, RoundingStrategy::MidpointNearestEven)
            .normalize()
    })
}

/// Orders per month from `first` to `end`, at least one month.
fn frequency(count: u64, first: OffsetDateTime, end: OffsetDateTime) -> Decimal {
    let days = Decimal::from((end - first).whole_seconds().max(0)) / Decimal::from(86_400);
    let months = (days / DAYS_PER_MONTH).max(Decimal::ONE);
    (Decimal::from(count) / months)
        .round_dp_with_strategy(RATIO_SCALE, RoundingStrategy::MidpointNearestEven)
        .normalize()
}

fn top_categories(orders: &[&Purchase]) -> Vec<CategorySales> {
    let mut by_category: HashMap<&str, (Decimal, u64)> = HashMap::new();
    for order in orders {
        let mut seen: Vec<&str> = Vec::new();
        for item in &order.items {
            let Some(category) = item.category.as_deref() else {
                continue;
            };
            let entry = by_category.entry(category).or_default();
            entry.0 += item.amount.amount();
            if !seen.contains(&category) {
                seen.push(category);
                entry.1 += 1;
            }
        }
    }
    let mut all: Vec<CategorySales> = by_category
        .into_iter()
        .map(|(category, (amount, count))| CategorySales {
            category: category.to_owned(),
            amount: Money::round(amount),
            count,
        })
        .collect();
    all.sort_by(|a, b| b.amount.cmp(&a.amount).then_with(|| a.category.cmp(&b.category)));
    all.truncate(TOP);
    all
}

fn top_products(orders: &[&Purchase]) -> Vec<ProductSales> {
    // Oldest order first, so that the latest name wins.
    let mut ordered: Vec<&&Purchase> = orders.iter().collect();
    ordered.sort_by_key(|o| o.completed_at);
    let mut by_product: HashMap<&str, ProductSales> = HashMap::new();
    for item in ordered.iter().flat_map(|o| o.items.iter()) {
        let entry = by_product.entry(&item.product_id).or_insert_with(|| ProductSales {
            product_id: item.product_id.clone(),
            product_name: String::new(),
            quantity: Decimal::ZERO,
            amount: Money::round(Decimal::ZERO),
        });
        entry.product_name.clone_from(&item.product_name);
        entry.quantity += item.quantity;
        entry.amount = Money::round(entry.amount.amount() + item.amount.amount());
    }
    let mut all: Vec<ProductSales> = by_product.into_values().collect();
    all.sort_by(|a, b| b.amount.cmp(&a.amount).then_with(|| a.product_id.cmp(&b.product_id)));
    all.truncate(TOP);
    all
}

/// When an activity happened.
fn moment(activity: &Activity) -> OffsetDateTime {
    match activity {
        Activity::Note(note) => note.created_at,
        Activity::OrderCompleted { at, .. }
        | Activity::OrderReversed { at, .. }
        | Activity::DealWon { at, .. }
        | Activity::InvoiceIssued { at, .. }
        | Activity::InvoicePaid { at, .. } => *at,
    }
}

fn interactions(activity: &[Activity], period: &AnalyticsPeriod) -> Interactions {
    let inside: Vec<&Activity> = activity.iter().filter(|a| period.contains(moment(a))).collect();
    let mut notes: Vec<_> = inside
        .iter()
        .filter_map(|a| match a {
            Activity::Note(note) => Some(note),
            _ => None,
        })
        .collect();
    notes.sort_by_key(|n| (n.created_at, n.id));

    // The channel of most notes; ties go to the one used last.
    let mut channels: HashMap<NoteChannel, (u64, OffsetDateTime)> = HashMap::new();
    for note in &notes {
        if let Some(channel) = note.channel {
            let entry = channels.entry(channel).or_insert((0, note.created_at));
            entry.0 += 1;
            entry.1 = entry.1.max(note.created_at);
        }
    }
    let preferred_channel = channels
        .into_iter()
        .max_by_key(|(channel, (count, last))| (*count, *last, *channel))
        .map(|(channel, _)| channel);

    let inbound: Vec<OffsetDateTime> = notes
        .iter()
        .filter(|n| n.direction == Some(NoteDirection::Inbound))
        .map(|n| n.created_at)
        .collect();
    // An answer may fall after the period's end, as long as it is known at `as_of`.
    let outbound: Vec<OffsetDateTime> = activity
        .iter()
        .filter_map(|a| match a {
            Activity::Note(n) if n.direction == Some(NoteDirection::Outbound) && n.created_at <= period.as_of => {
                Some(n.created_at)
            }
            _ => None,
        })
        .collect();
    let answered = inbound
        .iter()
        .filter(|at| outbound.iter().any(|o| *o > **at && *o <= **at + RESPONSE_WINDOW))
        .count();
    Interactions {
        total: inside.len() as u64,
        last_at: inside.iter().map(|a| moment(a)).max(),
        preferred_channel,
        response_rate: ratio(Decimal::from(answered as u64), Decimal::from(inbound.len() as u64)),
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr as _;

    use time::macros::datetime;
    use uuid::Uuid;

    use super::*;
    use crate::ids::{CustomerId, NoteId, UserId};
    use crate::integration::OrderItem;
    use crate::model::{CustomerNote, CustomerType};

    const AS_OF: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

    fn money(s: &str) -> Money {
        Money::parse(Decimal::from_str(s).unwrap()).unwrap()
    }

    fn customer() -> Customer {
        let scope = crate::ids::Scope::new(Uuid::from_u128(1).into(), Uuid::from_u128(2).into());
        let mut c = crate::commands::CustomerDraft::new(CustomerType::Company, "ТОО Альфа", "a@alpha.kz")
            .parse()
            .unwrap()
            .into_customer(scope, Uuid::from_u128(3).into(), datetime!(2025-01-01 00:00 UTC));
        c.current_balance = money("250000");
        c.credit_limit = money("1000000");
        c.lifetime_value = money("1234.56");
        c
    }

    fn item(product: &str, category: Option<&str>, quantity: &str, amount: &str, cost: Option<&str>) -> OrderItem {
        OrderItem {
            product_id: product.into(),
            product_name: format!("Товар {product}"),
            category: category.map(Into::into),
            quantity: Decimal::from_str(quantity).unwrap(),
            amount: money(amount),
            cost: cost.map(money),
        }
    }

    fn order(id: &str, total: &str, at: OffsetDateTime, items: Vec<OrderItem>) -> Purchase {
        Purchase {
            order_id: id.into(),
            status: OrderStatus::Completed,
            total_amount: money(total),
            completed_at: at,
            reversed_at: None,
            items,
        }
    }

    fn note(at: OffsetDateTime, channel: Option<NoteChannel>, direction: Option<NoteDirection>) -> Activity {
        Activity::Note(CustomerNote {
            id: NoteId::new(),
            customer_id: CustomerId::from(Uuid::nil()),
            author_id: UserId::from(Uuid::nil()),
            body: "звонок".into(),
            channel,
            direction,
            created_at: at,
            updated_at: at,
        })
    }

    /// Four orders: two in March, one in May (refunded after `as_of`: still counted), one
    /// cancelled in April (not counted), one after `as_of` (not known yet).
    fn history() -> Vec<Purchase> {
        vec![
            order(
                "O1",
                "1000",
                datetime!(2026-03-01 10:00 UTC),
                vec![
                    item("P1", Some("Чай"), "2", "600", Some("400")),
                    item("P2", Some("Кофе"), "1", "400", Some("300")),
                ],
            ),
            order(
                "O2",
                "550",
                datetime!(2026-03-15 10:00 UTC),
                vec![item("P1", Some("Чай"), "1.5", "500", Some("350"))],
            ),
            Purchase {
                status: OrderStatus::Cancelled,
                reversed_at: Some(datetime!(2026-04-02 00:00 UTC)),
                ..order(
                    "O3",
                    "9999",
                    datetime!(2026-04-01 10:00 UTC),
                    vec![item("P9", Some("Чай"), "1", "9999", None)],
                )
            },
            Purchase {
                status: OrderStatus::Refunded,
                reversed_at: Some(datetime!(2026-06-10 00:00 UTC)),
                ..order(
                    "O4",
                    "300",
                    datetime!(2026-05-22 12:00 UTC),
                    vec![item("P3", None, "3", "300", Some("100"))],
                )
            },
            order(
                "O5",
                "700",
                datetime!(2026-06-05 10:00 UTC),
                vec![item("P7", Some("Кофе"), "1", "700", Some("1"))],
            ),
        ]
    }

    #[test]
    fn every_figure_of_a_constructed_history() {
        let period = AnalyticsPeriod::new(None, None, AS_OF).unwrap();
        let activity = vec![
            note(
                datetime!(2026-03-02 09:00 UTC),
                Some(NoteChannel::Call),
                Some(NoteDirection::Inbound),
            ),
            // Answered 47 hours later.
            note(
                datetime!(2026-03-04 08:00 UTC),
                Some(NoteChannel::Email),
                Some(NoteDirection::Outbound),
            ),
            // Answered after 49 hours: too late.
            note(
                datetime!(2026-04-01 00:00 UTC),
                Some(NoteChannel::Call),
                Some(NoteDirection::Inbound),
            ),
            note(
                datetime!(2026-04-03 01:00 UTC),
                Some(NoteChannel::Call),
                Some(NoteDirection::Outbound),
            ),
            note(datetime!(2026-05-01 00:00 UTC), None, None),
            Activity::DealWon {
                deal_id: "D1".into(),
                amount: money("5000"),
                at: datetime!(2026-05-30 00:00 UTC),
            },
            // After as_of: not known yet.
            note(
                datetime!(2026-06-02 00:00 UTC),
                Some(NoteChannel::Email),
                Some(NoteDirection::Inbound),
            ),
        ];
        let f = figures(&customer(), &history(), &activity, &period);

        assert_eq!(f.total_purchases, money("1850"));
        assert_eq!(f.purchase_count, 3);
        assert_eq!(f.average_order_value, Some(money("616.67")));
        assert_eq!(f.lifetime_value, money("1234.56"));
        assert_eq!(f.first_purchase, Some(datetime!(2026-03-01 10:00 UTC)));
        assert_eq!(f.last_purchase, Some(datetime!(2026-05-22 12:00 UTC)));
        assert_eq!(f.days_since_last_purchase, Some(10));
        // 92 days 2 hours from the first order to as_of: 3.0253 months of 30.4375 days.
        assert_eq!(f.purchase_frequency, Some(Decimal::from_str("0.9916").unwrap()));
        assert_eq!(
            f.top_categories,
            vec![
                CategorySales {
                    category: "Чай".into(),
                    amount: money("1100"),
                    count: 2
                },
                CategorySales {
                    category: "Кофе".into(),
                    amount: money("400"),
                    count: 1
                },
            ]
        );
        assert_eq!(
            f.top_products,
            vec![
                ProductSales {
                    product_id: "P1".into(),
                    product_name: "Товар P1".into(),
                    quantity: Decimal::from_str("3.5").unwrap(),
                    amount: money("1100"),
                },
                ProductSales {
                    product_id: "P2".into(),
                    product_name: "Товар P2".into(),
                    quantity: Decimal::ONE,
                    amount: money("400"),
                },
                ProductSales {
                    product_id: "P3".into(),
                    product_name: "Товар P3".into(),
                    quantity: Decimal::from(3),
                    amount: money("300"),
                },
            ]
        );
        assert_eq!(f.total_revenue, money("1800"));
        // 1800 − (400 + 300 + 350 + 100)
        assert_eq!(f.total_profit, Some(money("650")));
        assert_eq!(f.profit_margin, Some(Decimal::from_str("0.3611").unwrap()));
        assert_eq!(f.outstanding_balance, money("250000"));
        assert_eq!(f.credit_utilization, Some(Decimal::from_str("0.25").unwrap()));
        assert_eq!(
            f.interactions,
            Interactions {
                total: 6,
                last_at: Some(datetime!(2026-05-30 00:00 UTC)),
                preferred_channel: Some(NoteChannel::Call),
                response_rate: Some(Decimal::from_str("0.5").unwrap()),
            }
        );
        assert_eq!(f.bought_products, ["P1", "P2", "P3"]);
    }

    #[test]
    fn a_period_narrows_the_orders_and_interactions() {
        let period = AnalyticsPeriod::new(
            Some(datetime!(2026-03-10 00:00 UTC)),
            Some(datetime!(2026-05-01 00:00 UTC)),
            AS_OF,
        )
        .unwrap();
        let activity = vec![note(
            datetime!(2026-05-01 00:00 UTC),
            Some(NoteChannel::Meeting),
            Some(NoteDirection::Inbound),
        )];
        let f = figures(&customer(), &history(), &activity, &period);
        assert_eq!((f.purchase_count, f.total_purchases), (1, money("550")));
        assert_eq!(f.days_since_last_purchase, Some(78));
        // From the order (2026-03-15 10:00) to `to`: 46 days 14 hours, 1.5305 months.
        assert_eq!(f.purchase_frequency, Some(Decimal::from_str("0.6534").unwrap()));
        assert_eq!(f.profit_margin, Some(Decimal::from_str("0.3").unwrap()));
        // `to` is exclusive.
        assert_eq!(f.interactions.total, 0);
        assert_eq!(f.interactions.response_rate, None);
        // Recommendations leave out everything bought up to as_of, whatever the period.
        assert_eq!(f.bought_products, ["P1", "P2", "P3"]);
    }

    #[test]
    fn missing_costs_no_orders_and_no_credit_give_absent_figures() {
        let mut c = customer();
        c.credit_limit = money("0");
        let period = AnalyticsPeriod::new(None, None, AS_OF).unwrap();
        let f = figures(&c, &[], &[], &period);
        assert_eq!(f.purchase_count, 0);
        assert_eq!(f.total_purchases, money("0"));
        assert_eq!(
            (
                f.average_order_value,
                f.first_purchase,
                f.days_since_last_purchase,
                f.purchase_frequency
            ),
            (None, None, None, None)
        );
        assert_eq!(
            (f.total_profit, f.profit_margin, f.credit_utilization),
            (None, None, None)
        );
        assert!(f.top_categories.is_empty() && f.top_products.is_empty());
        assert_eq!(f.interactions.preferred_channel, None);

        // One line without its cost: no profit at all rather than an overstated one.
        let orders = vec![order(
            "O1",
            "100",
            datetime!(2026-05-20 00:00 UTC),
            vec![
                item("P1", None, "1", "50", Some("10")),
                item("P2", None, "1", "50", None),
            ],
        )];
        let f = figures(&customer(), &orders, &[], &period);
        assert_eq!(
            (f.total_revenue, f.total_profit, f.profit_margin),
            (money("100"), None, None)
        );
        // Less than a month of history counts as one month.
        assert_eq!(f.purchase_frequency, Some(Decimal::ONE));
    }

    #[test]
    fn a_period_must_be_ordered() {
        let at = datetime!(2026-03-10 00:00 UTC);
        let err = AnalyticsPeriod::new(Some(at), Some(at), AS_OF).unwrap_err();
        assert_eq!(
            err.errors().iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            ["to"]
        );
        assert!(AnalyticsPeriod::new(Some(at), None, AS_OF).is_ok());
    }
}
