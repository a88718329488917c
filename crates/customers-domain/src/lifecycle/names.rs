//! Duplicate-name matching: a comparison key for customer names and a similarity score on it.
//!
//! The key ([`name_key`]) makes the spellings of one company under Kazakhstan's usual
//! variations compare equal: Cyrillic (Russian and Kazakh letters) or Latin script, any case,
//! with or without quotes and punctuation, with or without the legal form (ТОО, АО, ИП, LLP, …),
//! in any word order:
//!
//! ```
//! use customers_domain::lifecycle::names::name_key;
//!
//! for name in ["ТОО «Альфа»", "Альфа ТОО", "Alfa LLP", "ALFA, ltd.", "Alpha"] {
//!     assert_eq!(name_key(name), "alfa");
//! }
//! ```
//!
//! Transliteration is a fixed, lossy table (it only has to map both scripts onto one key, not
//! be readable or reversible); the remaining differences between independent romanizations
//! (`Kazakhtelecom` vs `Казахтелеком` → `kazahtelekom`) are left to [`name_similarity`].

use strsim::normalized_damerau_levenshtein;

/// Two names whose [`name_similarity`] is at least this are reported as a likely duplicate.
///
/// Chosen from the scores in this module's tests. Spelling and transliteration variants of one
/// name score 0.85 and more: `Альфа Строй`/`Alfa Stroi` 1.0, `Kazakhtelecom`/`Казахтелеком`
/// 1.0, `Алматы Стройсервис`/`Almaty Stroyservice` 0.947, `KazMunayGas`/`КазМунайГаз` 0.909,
/// `Альфа-Строй`/`АльфаСтрой` 0.9, `Технодом`/`Technodom` 0.889, `Freedom Finance`/`Фридом
/// Финанс` 0.857. Different names that share a word or a prefix score 0.73 at most:
/// `Alfa Stroi`/`Alfa Servis` 0.727, `Альфа Строй`/`Альфа Трейд` 0.7, `Иванов Иван`/`Иванова
/// Ирина` 0.692, `Astana Motors`/`Astana Group` 0.615, `Альфа`/`Альфабанк` 0.5, `Альфа`/`Бета`
/// 0.25. 0.8 sits in the middle of that gap. Names differing only by a number (`Beta 1`/`Beta
/// 2`, 0.833) are reported, which suits a "please check" hint; a one-letter typo in a 4-letter
/// name (`Alfa`/`Afla`, 0.75) is not: short names are too ambiguous to guess.
pub const NEAR_MATCH_THRESHOLD: f64 = 0.8;

/// Legal-form words (already lower-cased and transliterated), dropped from the key.
///
/// Russian/Kazakh forms: ТОО, ТОВ, АО, АҚ, ИП, ЖШС, ООО, ЗАО, ОАО, ПАО, КХ, ПК, ЖК (Kazakh for
/// ИП); English and German: LLP, LLC, JSC, Ltd, Limited, Inc, Corp, GmbH, plc; and their
/// Latin spellings (TOO, IP, AO, …), which the Cyrillic ones transliterate to.
const LEGAL_FORMS: &[&str] = &[
    "too", "tov", "ao", "ak", "ip", "zhshs", "ooo", "zao", "oao", "pao", "kh", "pk", "zhk", "llp", "llc", "jsc", "ltd",
    "limited", "inc", "corp", "gmbh", "plc",
];

/// The Latin spelling of a lower-case Cyrillic letter (Russian and Kazakh), if it is one.
fn cyrillic(c: char) -> Option<&'static str> {
    Some(match c {
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' => "g",
        'д' => "d",
        'е' => "e",
        'ё' => "e",
        'ж' => "zh",
        'з' => "z",
        'и' => "i",
        'й' => "i",
        'к' => "k",
        'л' => "l",
        'м' => "m",
        'н' => "n",
        'о' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' => "u",
        'ф' => "f",
        'х' => "h",
        'ц' => "ts",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "sh",
        'ъ' => "",
        'ы' => "y",
        'ь' => "",
        'э' => "e",
        'ю' => "yu",
        'я' => "ya",
        'ә' => "a",
        'ғ' => "g",
        'қ' => "k",
        'ң' => "n",
        'ө' => "o",
        'ұ' => "u",
        'ү' => "u",
        'һ' => "h",
        'і' => "i",
        // Ukrainian and Belarusian letters that show up in company names.
        'є' => "e",
        'ї' => "i",
        'ў' => "u",
        'ґ' => "g",
        _ => return None,
    })
}

/// A lower-case Latin letter with a diacritic (or a ligature) without it, if it is one.
/// Covers Western and Central European letters and the Kazakh Latin alphabet (ä, ğ, ı, ñ, ö,
/// ş, ū, ü).
fn latin_base(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'ç' | 'ć' | 'č' | 'ĉ' | 'ċ' => "c",
        'ď' | 'đ' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ğ' | 'ĝ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        _ => return None,
    })
}

/// Characters removed without splitting the word: apostrophes (`O'Brien`), full stops, so
/// that abbreviations with dots fold to the bare word (`L.L.P.` → `llp`, `И.П.` → `ip`), and
/// combining diacritical marks (a decomposed `é`, the dot of a lower-cased `İ`).
fn is_joiner(c: char) -> bool {
    matches!(c, '.' | '\'' | '’' | '‘' | '`' | 'ʼ' | '´' | '\u{0300}'..='\u{036F}')
}

/// The comparison key of a customer name.
///
/// Steps: lower-case (Unicode); transliterate Cyrillic, including the Kazakh letters
/// ә ғ қ ң ө ұ ү һ і, with one fixed table (`ж`→`zh`, `х`→`h`, `ц`→`ts`, `ч`→`ch`, `ш`/`щ`→`sh`,
/// `ю`→`yu`, `я`→`ya`, `ъ`/`ь` dropped, Kazakh letters to their base letter, …); strip
/// diacritics from Latin letters; drop apostrophes and full stops, and turn every other
/// character that is not a letter or digit (quotes « » „ “ ”, commas, dashes, …) into a word
/// break; fold `ph` to `f`; drop legal-form words (ТОО, АО, ИП, LLP, LLC, Ltd, …; a name that
/// is *only* legal-form words keeps them); sort the words so that their order does not matter,
/// and join them with single spaces.
///
/// ```
/// use customers_domain::lifecycle::names::name_key;
///
/// assert_eq!(name_key("АО «Қазақтелеком»"), "kazaktelekom");
/// assert_eq!(name_key("Строй-Альфа, ТОО"), "alfa stroi");
/// ```
pub fn name_key(name: &str) -> String {
    let mut text = String::with_capacity(name.len());
    for c in name.to_lowercase().chars() {
        if let Some(latin) = cyrillic(c).or_else(|| latin_base(c)) {
            text.push_str(latin);
        } else if c.is_alphanumeric() {
            text.push(c);
        } else if !is_joiner(c) {
            text.push(' ');
        }
    }
    let words: Vec<String> = text.split_whitespace().map(|w| w.replace("ph", "f")).collect();
    let mut kept: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| !LEGAL_FORMS.contains(w))
        .collect();
    if kept.is_empty() {
        kept = words.iter().map(String::as_str).collect();
    }
    kept.sort_unstable();
    kept.join(" ")
}

/// How alike two names are, from 0 (nothing in common) to 1 (the same [`name_key`]).
///
/// The score is the normalized Damerau–Levenshtein similarity (1 − edits / longer length, a
/// swap of two neighbours counting as one edit) of the two keys after [`sound_fold`], which
/// removes the differences between independent romanizations (`kh`/`h`, `c`/`k`/`s`, `y`/`i`,
/// `j`/`zh`, doubled letters).
///
/// Why not Jaro–Winkler (also in `strsim`): its bonus for a common prefix rates different
/// companies that share a first word as near-identical (`alfa stroi`/`alfa treid` 0.92,
/// `alfa`/`alfabank` 0.90), above genuine transliteration variants such as
/// `kazmunaigas`/`kazmunaigaz` (0.93 unfolded); no threshold separates them. Edit distance on
/// the folded keys does (see [`NEAR_MATCH_THRESHOLD`]).
///
/// An empty key (an empty name, or one made only of punctuation) matches nothing: 0.
pub fn name_similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (name_key(a), name_key(b));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if a == b {
        return 1.0;
    }
    normalized_damerau_levenshtein(&sound_fold(&a), &sound_fold(&b)).clamp(0.0, 1.0)
}

/// Folds the spellings that independent romanizations of one word disagree on, for
/// [`name_similarity`] only (the [`name_key`] keeps them): `kh`→`h` (`Kazakh-`/`Казах-`),
/// `ck`→`k`, `c`→`s` before `e`/`i`/`y` and `k` elsewhere except in `ch` (`Finance`/`Финанс`,
/// `Coca`/`Кока`), `q`→`k` (Kazakh Latin `q` = `қ`), `j`→`zh` (Kazakh Latin `j` = `ж`),
/// `y`→`i` (`й`/`ы`), `w`→`v`, `x`→`ks`, then a doubled letter → one (`Assel`/`Асель`).
pub fn sound_fold(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let mut folded = String::with_capacity(key.len());
    let mut i = 0;
    while i < chars.len() {
        let next = chars.get(i + 1).copied();
        let (replacement, consumed) = match (chars[i], next) {
            ('k', Some('h')) => ("h", 2),
            ('c', Some('k')) => ("k", 2),
            ('c', Some('h')) => ("ch", 2),
            ('c', Some('e' | 'i' | 'y')) => ("s", 1),
            ('c' | 'q', _) => ("k", 1),
            ('j', _) => ("zh", 1),
            ('y', _) => ("i", 1),
            ('w', _) => ("v", 1),
            ('x', _) => ("ks", 1),
            (c, _) => {
                folded.push(c);
                i += 1;
                continue;
            }
        };
        folded.push_str(replacement);
        i += consumed;
    }
    let mut single = String::with_capacity(folded.len());
    let mut previous = None;
    for c in folded.chars() {
        if previous != Some(c) || c == ' ' {
            single.push(c);
        }
        previous = Some(c);
    }
    single
}

/// The words of the [`name_key`] that have at least 3 characters, sorted and de-duplicated:
/// what to look candidates up by before scoring them with [`name_similarity`].
///
/// ```
/// use customers_domain::lifecycle::names::name_tokens;
///
/// assert_eq!(name_tokens("ТОО «Строй Альфа KZ»"), ["alfa", "stroi"]);
/// ```
pub fn name_tokens(name: &str) -> Vec<String> {
    let mut tokens: Vec<String> = name_key(name)
        .split(' ')
        .filter(|w| w.chars().count() >= 3)
        .map(str::to_owned)
        .collect();
    tokens.dedup();
    tokens
}

/// Most tokens a duplicate lookup uses (the longest names add little and cost a query term each).
pub const MAX_MATCH_TOKENS: usize = 8;

/// The key stored with each customer for the duplicate lookup: the [`sound_fold`]ed
/// [`name_key`] without spaces, so that spelling variants ("Kazakhtelecom", "Казахтелеком")
/// and spacing variants ("Альфа Строй", "АльфаСтрой") meet.
pub fn match_key(name: &str) -> String {
    sound_fold(&name_key(name)).replace(' ', "")
}

/// What to look a name up by in [`match_key`]s: its [`sound_fold`]ed tokens of at least 3
/// characters, at most [`MAX_MATCH_TOKENS`], longest first.
pub fn match_tokens(name: &str) -> Vec<String> {
    let mut tokens: Vec<String> = name_tokens(name)
        .iter()
        .map(|t| sound_fold(t))
        .filter(|t| t.chars().count() >= 3)
        .collect();
    tokens.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    tokens.dedup();
    tokens.truncate(MAX_MATCH_TOKENS);
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_keys_meet_across_scripts_and_spacing() {
        for (stored, typed) in [
            ("Kazakhtelecom", "Казахтелеком"),
            ("Freedom Finance", "Фридом Финанс"),
            ("Альфа Строй", "АльфаСтрой"),
            ("АльфаСтрой", "Альфа Строй"),
            ("ТОО «Альфа»", "Alfa LLP"),
        ] {
            let key = match_key(stored);
            let tokens = match_tokens(typed);
            assert!(!tokens.is_empty(), "{typed}");
            assert!(
                tokens.iter().any(|t| key.contains(t.as_str())),
                "{stored} / {typed}: {key} {tokens:?}"
            );
        }
        let many = "alpha beta gamma delta omega sigma theta kappa lambda zeta";
        assert_eq!(match_tokens(many).len(), MAX_MATCH_TOKENS);
    }

    #[test]
    fn spellings_of_one_company_share_a_key() {
        let cases = [
            ("ТОО «Альфа»", "alfa"),
            ("Альфа ТОО", "alfa"),
            ("Alfa LLP", "alfa"),
            ("ALFA, ltd.", "alfa"),
            ("Alpha", "alfa"),
            ("АЛЬФА", "alfa"),
            ("  альфа  ", "alfa"),
            ("\"Альфа\" ТОО", "alfa"),
            ("„Альфа“ ЖШС", "alfa"),
            ("“Alfa” L.L.P.", "alfa"),
            ("Т.О.О. Альфа", "alfa"),
            ("Alfa GmbH", "alfa"),
            ("ALFA Inc.", "alfa"),
            ("Alfa Corp", "alfa"),
            ("Alfa plc", "alfa"),
            ("Alfa Limited", "alfa"),
            ("TOO Alfa", "alfa"),
            ("ООО Альфа", "alfa"),
            ("ТОВ «Альфа»", "alfa"),
            ("ЗАО Альфа", "alfa"),
            ("ОАО Альфа", "alfa"),
            ("ПАО Альфа", "alfa"),
            ("АО «Альфа»", "alfa"),
            ("АҚ «Альфа»", "alfa"),
            ("ИП Альфа", "alfa"),
            ("И.П. Альфа", "alfa"),
            ("IP Alfa", "alfa"),
            ("AO Alfa", "alfa"),
            ("JSC Alfa", "alfa"),
            ("Alfa LLC", "alfa"),
            ("КХ Альфа", "alfa"),
            ("ПК Альфа", "alfa"),
            ("ЖК Альфа", "alfa"),
        ];
        for (name, key) in cases {
            assert_eq!(name_key(name), key, "{name:?}");
        }
    }

    #[test]
    fn keys_transliterate_sort_and_collapse() {
        let cases = [
            // Word order, dashes and whitespace do not matter.
            ("Альфа Строй", "alfa stroi"),
            ("Строй-Альфа", "alfa stroi"),
            ("Строй\t Альфа\n", "alfa stroi"),
            ("Alfa Stroi", "alfa stroi"),
            ("Иванов Иван Иванович", "ivan ivanov ivanovich"),
            // The whole Russian alphabet.
            (
                "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
                "abvgdeezhziiklmnoprstufhtschshshyeyuya",
            ),
            // The Kazakh letters.
            ("әғқңөұүһі", "agknouuhi"),
            ("ӘҒҚҢӨҰҮҺІ", "agknouuhi"),
            ("АО «Қазақтелеком»", "kazaktelekom"),
            ("Қазақстан темір жолы", "kazakstan temir zholy"),
            ("Объединение", "obedinenie"),
            ("Шымкентпиво", "shymkentpivo"),
            // Latin diacritics, including the Kazakh Latin alphabet.
            ("Café Müller", "cafe muller"),
            ("Qazaqstan Temır Joly", "joly qazaqstan temir"),
            ("Şymkent Ğylym Äñ", "an gylym symkent"),
            ("Straße", "strasse"),
            ("Cafe\u{301} Mu\u{308}ller", "cafe muller"),
            ("İstanbul", "istanbul"),
            // ph → f, apostrophes join, other punctuation splits.
            ("Philip Morris", "filip morris"),
            ("O'Brien & Sons", "obrien sons"),
            ("Kaspi.kz", "kaspikz"),
            ("A+B/C", "a b c"),
            // Digits stay.
            ("Аптека №1", "1 apteka"),
            // A name that is only a legal form keeps it.
            ("ТОО", "too"),
            ("LLP", "llp"),
            // Nothing left.
            ("", ""),
            ("«—»", ""),
            ("  ", ""),
        ];
        for (name, key) in cases {
            assert_eq!(name_key(name), key, "{name:?}");
        }
    }

    #[test]
    fn sound_fold_merges_romanizations() {
        let cases = [
            ("kazakhtelecom", "kazahtelekom"),
            ("kazahtelekom", "kazahtelekom"),
            ("finance", "finanse"),
            ("coca kola", "koka kola"),
            ("check", "chek"),
            ("jetisu", "zhetisu"),
            ("qazaq", "kazak"),
            ("stroy", "stroi"),
            ("wax", "vaks"),
            ("assel", "asel"),
            ("a  b", "a  b"),
        ];
        for (key, folded) in cases {
            assert_eq!(sound_fold(key), folded, "{key:?}");
        }
    }

    /// (a, b, similarity to 3 decimals)
    const SCORES: &[(&str, &str, f64)] = &[
        // Variants of one name.
        ("Альфа Строй", "Alfa Stroi", 1.0),
        ("ТОО «Альфа»", "Alpha LLP", 1.0),
        ("Kazakhtelecom", "Казахтелеком", 1.0),
        ("Kazakhmys", "Казахмыс", 1.0),
        ("Coca-Cola", "Кока-Кола", 1.0),
        ("Jetisu", "Жетысу", 1.0),
        ("Assel", "Асель", 1.0),
        ("Иванов Иван", "Иван Иванов", 1.0),
        ("Kazakhstan Temir Zholy", "Қазақстан темір жолы", 0.952),
        ("Алматы Стройсервис", "Almaty Stroyservice", 0.947),
        ("KazMunayGas", "КазМунайГаз", 0.909),
        ("Альфа-Строй", "АльфаСтрой", 0.9),
        ("Технодом", "Technodom", 0.889),
        ("Nomad Insurance", "Номад Иншуранс", 0.867),
        ("Freedom Finance", "Фридом Финанс", 0.857),
        ("Beta 1", "Beta 2", 0.833),
        // Different names.
        ("Alfa", "Afla", 0.75),
        ("Alfa Stroi", "Alfa Servis", 0.727),
        ("Альфа Строй", "Альфа Трейд", 0.7),
        ("Иванов Иван", "Иванова Ирина", 0.692),
        ("Kcell", "Kazcell", 0.667),
        ("Иванов Иван", "Петров Иван", 0.636),
        ("Евразийский банк", "Eurasian Bank", 0.643),
        ("Astana Motors", "Astana Group", 0.615),
        ("Kaspi Bank", "Kaspi Gold", 0.6),
        ("Альфа", "Альфабанк", 0.5),
        ("Halyk Bank", "Народный банк", 0.5),
        ("Alfa", "Alfa Bank", 0.444),
        ("Альфа Строй", "Альфа", 0.4),
        ("Альфа", "Бета", 0.25),
        ("Air Astana", "Эйр Астана", 0.2),
        // An empty key matches nothing, not even another empty key.
        ("", "", 0.0),
        ("«»", "«»", 0.0),
        ("", "Альфа", 0.0),
        ("Альфа", "...", 0.0),
    ];

    #[test]
    fn similarity_scores() {
        for &(a, b, expected) in SCORES {
            let score = name_similarity(a, b);
            assert!((score - expected).abs() < 0.0005, "{a:?} vs {b:?}: {score}");
            assert_eq!(name_similarity(b, a), score, "symmetric: {a:?} vs {b:?}");
            assert!((0.0..=1.0).contains(&score));
        }
    }

    #[test]
    fn threshold_separates_variants_from_different_names() {
        let cases = [
            ("Альфа Строй", "Alfa Stroi", true),
            ("Kazakhtelecom", "Казахтелеком", true),
            ("KazMunayGas", "КазМунайГаз", true),
            ("Технодом", "Technodom", true),
            ("Freedom Finance", "Фридом Финанс", true),
            ("Beta 1", "Beta 2", true),
            ("ALFA, ltd.", "Альфа ТОО", true),
            ("Альфа", "Бета", false),
            ("Alfa", "Afla", false),
            ("Alfa Stroi", "Alfa Servis", false),
            ("Альфа Строй", "Альфа Трейд", false),
            ("Альфа", "Альфабанк", false),
            ("Иванов Иван", "Иванова Ирина", false),
            ("", "", false),
        ];
        for (a, b, near) in cases {
            assert_eq!(name_similarity(a, b) >= NEAR_MATCH_THRESHOLD, near, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn tokens_are_the_long_key_words() {
        let cases: [(&str, &[&str]); 7] = [
            ("ТОО «Строй Альфа KZ»", &["alfa", "stroi"]),
            ("Alfa Alfa Stroi", &["alfa", "stroi"]),
            ("Аптека №1", &["apteka"]),
            ("Kazakhtelecom", &["kazakhtelecom"]),
            ("АО «Қазақтелеком»", &["kazaktelekom"]),
            ("ИП Ли", &[]),
            ("", &[]),
        ];
        for (name, tokens) in cases {
            assert_eq!(name_tokens(name), tokens, "{name:?}");
        }
    }
}
