//! The API catalog: which CloudTrail APIs count as provisioning, IAM changes, defence evasion,
//! destructive actions, exposure, sensitive actions and periodic-maintenance candidates.
//!
//! The shipped catalog is `models/catalog.toml`, compiled into the binary ([`Catalog::builtin`]);
//! users add APIs from their config ([`CatalogExtension`], [`Catalog::extend`]). The detectors ask
//! it one question per API series: [`Catalog::categories`] / [`Catalog::is`].
//!
//! # Entries
//!
//! An entry is `"eventSource:eventName"` exactly as CloudTrail writes them
//! (`"ec2.amazonaws.com:RunInstances"`), parsed into an [`ApiPattern`]:
//!
//! - the source is lower case, ends in `.amazonaws.com` and has a name before it
//!   (`signin.amazonaws.com`, `ec2-instance-connect.amazonaws.com` are ordinary sources);
//! - the name starts with a letter and holds letters, digits, `_`, `-` or `.`;
//! - a trailing `*` on the name, and only there, matches by prefix
//!   (`"guardduty.amazonaws.com:Delete*"`; `"ec2.amazonaws.com:*"` for every API of a source).
//!
//! # API-version suffixes
//!
//! Some services log the API version in the event name: Lambda writes `CreateFunction20150331`
//! and `UpdateFunctionCode20150331v2`, CloudFront `UpdateDistribution2020_05_31`. Names are
//! normalised on both sides (catalog entries and lookups) by [`normalize_event_name`]: a trailing
//! 8-digit date or `YYYY_MM_DD` date, optionally followed by `v` and digits, is cut when a letter
//! precedes it. So the catalog lists `lambda.amazonaws.com:CreateFunction` once and every version
//! matches; listing both `CreateFunction` and `CreateFunction20150331` in one category is a
//! duplicate.
//!
//! # File format
//!
//! ```toml
//! schema_version = 1
//!
//! [categories.provisioning]
//! description = "Resource creation that costs money or expands the attack surface."
//! apis = ["ec2.amazonaws.com:RunInstances", "lambda.amazonaws.com:CreateFunction"]
//!
//! [categories.sensitive]
//! description = "What rare_action watches."
//! include = ["iam_change", "defense_evasion"]     # every API of these categories, recursively
//! apis = ["secretsmanager.amazonaws.com:GetSecretValue"]
//! ```
//!
//! Unknown keys, unknown categories, a bad entry, a duplicate entry within one category and a
//! category that includes itself are errors naming the origin, the key and the value. An API may
//! belong to several categories; a category absent from the file is empty.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The catalog file format version this build reads.
pub const SCHEMA_VERSION: u32 = 1;

/// The name errors in the shipped catalog are reported under.
pub const BUILTIN_ORIGIN: &str = "models/catalog.toml (built in)";

const BUILTIN_TOML: &str = include_str!("../models/catalog.toml");

/// A category of APIs the detectors use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Resource creation that costs money or expands the attack surface (`provisioning_spike`).
    Provisioning,
    /// IAM and identity writes (`iam_burst`).
    IamChange,
    /// Logging, detection and security controls switched off or narrowed.
    DefenseEvasion,
    /// Deletes and stops of workloads, data and backups.
    Destructive,
    /// Deleting what recovery needs: backups, recovery points, snapshot copies, the keys that
    /// decrypt data (MITRE ATT&CK T1490). Part of `destructive`.
    InhibitRecovery,
    /// Sharing with other accounts, public access and network openings (exfiltration paths).
    Exposure,
    /// The union `rare_action` watches (includes other categories plus credential access,
    /// execution and lateral-movement APIs).
    Sensitive,
    /// Typical periodic jobs `maintenance_gap` looks for rhythms in.
    MaintenanceCandidate,
}

impl Category {
    /// Every category, in declaration order.
    pub const ALL: [Category; 8] = [
        Category::Provisioning,
        Category::IamChange,
        Category::DefenseEvasion,
        Category::Destructive,
        Category::InhibitRecovery,
        Category::Exposure,
        Category::Sensitive,
        Category::MaintenanceCandidate,
    ];

    /// The name used in TOML and JSON (`"iam_change"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Provisioning => "provisioning",
            Category::IamChange => "iam_change",
            Category::DefenseEvasion => "defense_evasion",
            Category::Destructive => "destructive",
            Category::InhibitRecovery => "inhibit_recovery",
            Category::Exposure => "exposure",
            Category::Sensitive => "sensitive",
            Category::MaintenanceCandidate => "maintenance_candidate",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of [`Category`] values (a bitset; `Copy`, no allocation).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct CategorySet(u8);

impl CategorySet {
    /// The empty set.
    pub const EMPTY: CategorySet = CategorySet(0);

    /// Whether `cat` is in the set.
    pub fn contains(self, cat: Category) -> bool {
        self.0 & cat.bit() != 0
    }

    /// Adds `cat`.
    pub fn insert(&mut self, cat: Category) {
        self.0 |= cat.bit();
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The number of categories in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The categories in the set, in declaration order.
    pub fn iter(self) -> CategoryIter {
        self.into_iter()
    }

    fn union(self, other: CategorySet) -> CategorySet {
        CategorySet(self.0 | other.0)
    }
}

impl fmt::Debug for CategorySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl FromIterator<Category> for CategorySet {
    fn from_iter<I: IntoIterator<Item = Category>>(iter: I) -> Self {
        let mut set = CategorySet::EMPTY;
        for c in iter {
            set.insert(c);
        }
        set
    }
}

impl IntoIterator for CategorySet {
    type Item = Category;
    type IntoIter = CategoryIter;

    fn into_iter(self) -> CategoryIter {
        CategoryIter { set: self, next: 0 }
    }
}

/// Iterator over a [`CategorySet`], in declaration order.
#[derive(Debug, Clone)]
pub struct CategoryIter {
    set: CategorySet,
    next: usize,
}

impl Iterator for CategoryIter {
    type Item = Category;

    fn next(&mut self) -> Option<Category> {
        while let Some(&c) = Category::ALL.get(self.next) {
            self.next += 1;
            if self.set.contains(c) {
                return Some(c);
            }
        }
        None
    }
}

/// Cuts an API-version suffix from a CloudTrail event name: a trailing 8-digit date
/// (`CreateFunction20150331`) or `YYYY_MM_DD` date (`UpdateDistribution2020_05_31`), optionally
/// followed by `v` and digits (`UpdateFunctionCode20150331v2`), when a letter precedes it.
/// Other names come back unchanged.
///
/// ```
/// use trailsight::catalog::normalize_event_name;
/// assert_eq!(normalize_event_name("UpdateFunctionCode20150331v2"), "UpdateFunctionCode");
/// assert_eq!(normalize_event_name("UpdateDistribution2020_05_31"), "UpdateDistribution");
/// assert_eq!(normalize_event_name("RunInstances"), "RunInstances");
/// ```
pub fn normalize_event_name(name: &str) -> &str {
    let b = name.as_bytes();
    if let Some(end) = strip_date(b) {
        return &name[..end];
    }
    // `v` + digits after the date.
    let digits = b.iter().rev().take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 && b.len() > digits && b[b.len() - digits - 1] == b'v' {
        if let Some(end) = strip_date(&b[..b.len() - digits - 1]) {
            return &name[..end];
        }
    }
    name
}

/// Where the name ends once a trailing date is cut, if it has one preceded by a letter.
fn strip_date(b: &[u8]) -> Option<usize> {
    let compact = b.len() >= 8 && b[b.len() - 8..].iter().all(u8::is_ascii_digit);
    let underscored = b.len() >= 10 && {
        let t = &b[b.len() - 10..];
        t.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'_'
            } else {
                c.is_ascii_digit()
            }
        })
    };
    let end = if compact {
        b.len() - 8
    } else if underscored {
        b.len() - 10
    } else {
        return None;
    };
    (end > 0 && b[end - 1].is_ascii_alphabetic()).then_some(end)
}

/// Why an `"eventSource:eventName"` entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiPatternError {
    /// No `:` between source and name.
    #[error(
        "expected \"eventSource:eventName\", e.g. \"ec2.amazonaws.com:RunInstances\" (no ':')"
    )]
    MissingColon,
    /// More than one `:`.
    #[error("expected exactly one ':' between eventSource and eventName")]
    ExtraColon,
    /// The source is not `<service>.amazonaws.com` in lower case.
    #[error("eventSource must be a lower-case <service>.amazonaws.com, as CloudTrail writes it")]
    BadSource,
    /// The name is empty (and not `*`).
    #[error("eventName is empty (use \"*\" for every API of the source)")]
    EmptyName,
    /// The name holds characters CloudTrail event names do not, or does not start with a letter.
    #[error("eventName must start with a letter and hold only letters, digits, '_', '-' or '.'")]
    BadName,
    /// A `*` somewhere other than the end of the name.
    #[error("'*' is only allowed as the last character of the eventName")]
    MisplacedWildcard,
}

/// One catalog entry: an event source and an event name, or an event-name prefix
/// (written with a trailing `*`). The name is kept normalised ([`normalize_event_name`]).
///
/// Parses from and serialises to the `"eventSource:eventName"` text form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ApiPattern {
    source: String,
    name: String,
    prefix: bool,
}

impl ApiPattern {
    /// The event source (`ec2.amazonaws.com`).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The normalised event name, or the prefix without its `*`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the entry matches every name starting with [`ApiPattern::name`].
    pub fn is_prefix(&self) -> bool {
        self.prefix
    }

    /// Whether CloudTrail's `eventSource`/`eventName` pair matches this entry.
    pub fn matches(&self, source: &str, name: &str) -> bool {
        let name = normalize_event_name(name);
        self.source == source
            && if self.prefix {
                name.starts_with(&self.name)
            } else {
                self.name == name
            }
    }
}

impl fmt::Display for ApiPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let star = if self.prefix { "*" } else { "" };
        write!(f, "{}:{}{star}", self.source, self.name)
    }
}

impl FromStr for ApiPattern {
    type Err = ApiPatternError;

    fn from_str(text: &str) -> Result<Self, ApiPatternError> {
        let (source, name) = text.split_once(':').ok_or(ApiPatternError::MissingColon)?;
        if name.contains(':') {
            return Err(ApiPatternError::ExtraColon);
        }
        let service = source
            .strip_suffix(".amazonaws.com")
            .ok_or(ApiPatternError::BadSource)?;
        let service_ok = service
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.');
        if service.is_empty() || !service_ok || service.starts_with('.') || service.ends_with('.') {
            return Err(ApiPatternError::BadSource);
        }
        let (name, prefix) = match name.strip_suffix('*') {
            Some(stem) => (stem, true),
            None => (name, false),
        };
        if name.contains('*') {
            return Err(ApiPatternError::MisplacedWildcard);
        }
        if name.is_empty() && !prefix {
            return Err(ApiPatternError::EmptyName);
        }
        let name_ok = name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'));
        if !name_ok
            || name
                .bytes()
                .next()
                .is_some_and(|c| !c.is_ascii_alphabetic())
        {
            return Err(ApiPatternError::BadName);
        }
        let name = if prefix {
            name
        } else {
            normalize_event_name(name)
        };
        Ok(ApiPattern {
            source: source.to_owned(),
            name: name.to_owned(),
            prefix,
        })
    }
}

/// An entry of a config's `[catalog]` section that is not an [`ApiPattern`], with the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid API entry {text:?}: {reason}")]
pub struct ApiEntryError {
    /// The entry as written.
    pub text: String,
    /// What is wrong with it.
    pub reason: ApiPatternError,
}

impl TryFrom<String> for ApiPattern {
    type Error = ApiEntryError;

    fn try_from(text: String) -> Result<Self, ApiEntryError> {
        text.parse()
            .map_err(|reason| ApiEntryError { text, reason })
    }
}

impl From<ApiPattern> for String {
    fn from(p: ApiPattern) -> String {
        p.to_string()
    }
}

/// Why a catalog could not be built. Every variant names where the text came from (`origin`).
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Not TOML, or not the catalog's shape (unknown key or category, wrong type, missing field);
    /// the message carries toml's line, column and offending key.
    #[error("{origin}: {message}")]
    Parse {
        /// Where the text came from.
        origin: String,
        /// toml's explanation.
        message: String,
    },
    /// A `schema_version` this build does not read.
    #[error(
        "{origin}: schema_version = {found} is not supported (this build reads {SCHEMA_VERSION})"
    )]
    SchemaVersion {
        /// Where the text came from.
        origin: String,
        /// The version in the file.
        found: u32,
    },
    /// An entry that is not a valid `"eventSource:eventName"`.
    #[error("{origin}:{line}: {key} = {value:?}: {reason}")]
    Entry {
        /// Where the text came from.
        origin: String,
        /// 1-based line of the entry.
        line: usize,
        /// The key path, e.g. `categories.provisioning.apis[3]` (0-based index).
        key: String,
        /// The entry as written.
        value: String,
        /// What is wrong with it.
        reason: ApiPatternError,
    },
    /// The same API twice in one category (after name normalisation).
    #[error("{origin}:{line}: {key} = {value:?} duplicates {first}")]
    Duplicate {
        /// Where the text came from.
        origin: String,
        /// 1-based line of the second occurrence.
        line: usize,
        /// The key path of the second occurrence.
        key: String,
        /// The second occurrence as written.
        value: String,
        /// The first occurrence: `categories.<category>.apis[i] = "<entry>"`.
        first: String,
    },
    /// A category whose `include` names itself.
    #[error("{origin}: categories.{category}.include names \"{category}\", the category itself")]
    SelfInclude {
        /// Where the text came from.
        origin: String,
        /// The category.
        category: Category,
    },
}

/// APIs users add to the catalog from their config, e.g.
///
/// ```toml
/// [categories]
/// provisioning = ["gamelift.amazonaws.com:CreateFleet"]
/// sensitive = ["ssm.amazonaws.com:GetParameterHistory"]
/// ```
///
/// Entries are validated when deserialised (an invalid one fails the config with its value).
/// Adding an API the catalog already has in that category is allowed and changes nothing, so
/// a config keeps working when a later release ships the same API.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogExtension {
    /// Extra APIs per category.
    #[serde(default)]
    pub categories: BTreeMap<Category, Vec<ApiPattern>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    schema_version: u32,
    #[serde(default)]
    categories: BTreeMap<Category, RawCategory>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    description: String,
    #[serde(default)]
    include: Vec<Category>,
    #[serde(default)]
    apis: Vec<toml::Spanned<String>>,
}

/// The API catalog: categories of CloudTrail APIs, with a constant-time lookup by
/// `(eventSource, eventName)`. See the [module documentation](self) for the format.
#[derive(Debug, Clone)]
pub struct Catalog {
    origin: String,
    descriptions: BTreeMap<Category, String>,
    includes: BTreeMap<Category, Vec<Category>>,
    /// Entries listed directly under each category (shipped, then extensions), in order.
    entries: BTreeMap<Category, Vec<ApiPattern>>,
    index: Index,
}

/// The resolved lookup: for each source, exact names and prefixes with the categories they
/// belong to (through `include` too).
#[derive(Debug, Clone, Default)]
struct Index {
    by_source: HashMap<String, SourceIndex>,
}

#[derive(Debug, Clone, Default)]
struct SourceIndex {
    exact: HashMap<String, CategorySet>,
    prefixes: Vec<(String, CategorySet)>,
}

impl Catalog {
    /// The shipped catalog (`models/catalog.toml`, compiled in), parsed once per process.
    ///
    /// # Panics
    ///
    /// Never in a tested build: the text is a compile-time constant and the unit test
    /// `builtin_parses` parses exactly these bytes.
    pub fn builtin() -> Catalog {
        static BUILTIN: OnceLock<Catalog> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                Catalog::from_toml(BUILTIN_TOML, BUILTIN_ORIGIN)
                    .unwrap_or_else(|e| unreachable!("the shipped catalog is tested: {e}"))
            })
            .clone()
    }

    /// Parses and validates a catalog; `origin` (a path or a name) prefixes every error.
    pub fn from_toml(text: &str, origin: &str) -> Result<Catalog, CatalogError> {
        let raw: RawCatalog = toml::from_str(text).map_err(|e| CatalogError::Parse {
            origin: origin.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        if raw.schema_version != SCHEMA_VERSION {
            return Err(CatalogError::SchemaVersion {
                origin: origin.to_owned(),
                found: raw.schema_version,
            });
        }
        let line_of = |offset: usize| {
            let before = &text.as_bytes()[..offset.min(text.len())];
            before.iter().filter(|b| **b == b'\n').count() + 1
        };
        let mut catalog = Catalog {
            origin: origin.to_owned(),
            descriptions: BTreeMap::new(),
            includes: BTreeMap::new(),
            entries: BTreeMap::new(),
            index: Index::default(),
        };
        for (cat, raw_cat) in raw.categories {
            if raw_cat.include.contains(&cat) {
                return Err(CatalogError::SelfInclude {
                    origin: origin.to_owned(),
                    category: cat,
                });
            }
            let mut seen: HashMap<ApiPattern, String> = HashMap::new();
            let mut list = Vec::with_capacity(raw_cat.apis.len());
            for (i, spanned) in raw_cat.apis.into_iter().enumerate() {
                let line = line_of(spanned.span().start);
                let value = spanned.into_inner();
                let key = format!("categories.{cat}.apis[{i}]");
                let pattern: ApiPattern = value.parse().map_err(|reason| CatalogError::Entry {
                    origin: origin.to_owned(),
                    line,
                    key: key.clone(),
                    value: value.clone(),
                    reason,
                })?;
                if let Some(first) = seen.get(&pattern) {
                    return Err(CatalogError::Duplicate {
                        origin: origin.to_owned(),
                        line,
                        key,
                        value,
                        first: first.clone(),
                    });
                }
                seen.insert(pattern.clone(), format!("{key} = {value:?}"));
                list.push(pattern);
            }
            catalog.descriptions.insert(cat, raw_cat.description);
            catalog.includes.insert(cat, raw_cat.include);
            catalog.entries.insert(cat, list);
        }
        catalog.reindex();
        Ok(catalog)
    }

    /// Adds the extension's APIs to their categories (and so to every category including
    /// them). APIs already present in a category are skipped.
    pub fn extend(&mut self, other: &CatalogExtension) {
        for (cat, apis) in &other.categories {
            let list = self.entries.entry(*cat).or_default();
            for api in apis {
                if !list.contains(api) {
                    list.push(api.clone());
                }
            }
        }
        self.reindex();
    }

    /// The categories an API belongs to (directly or through `include`); empty when none.
    /// `name` may carry an API-version suffix ([`normalize_event_name`]).
    pub fn categories(&self, source: &str, name: &str) -> CategorySet {
        let Some(idx) = self.index.by_source.get(source) else {
            return CategorySet::EMPTY;
        };
        let name = normalize_event_name(name);
        let mut set = idx.exact.get(name).copied().unwrap_or_default();
        for (prefix, cats) in &idx.prefixes {
            if name.starts_with(prefix.as_str()) {
                set = set.union(*cats);
            }
        }
        set
    }

    /// Whether the API belongs to `cat`.
    pub fn is(&self, cat: Category, source: &str, name: &str) -> bool {
        self.categories(source, name).contains(cat)
    }

    /// Every `(eventSource, eventName)` of a category, including those of included
    /// categories, sorted and without repeats. Prefix entries come back with their trailing `*`.
    pub fn apis(&self, cat: Category) -> Vec<(String, String)> {
        let mut out = BTreeSet::new();
        for member in self.closure(cat) {
            for p in self.entries.get(&member).into_iter().flatten() {
                let star = if p.prefix { "*" } else { "" };
                out.insert((p.source.clone(), format!("{}{star}", p.name)));
            }
        }
        out.into_iter().collect()
    }

    /// The category's description from the catalog file, if the file declares it.
    pub fn description(&self, cat: Category) -> Option<&str> {
        self.descriptions.get(&cat).map(String::as_str)
    }

    /// The categories `cat` includes directly (its `include` list).
    pub fn includes(&self, cat: Category) -> &[Category] {
        self.includes.get(&cat).map_or(&[], Vec::as_slice)
    }

    /// Where the catalog was read from (the `origin` given to [`Catalog::from_toml`]).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// `cat` and every category it includes, recursively (cycles are harmless).
    fn closure(&self, cat: Category) -> CategorySet {
        let mut set = CategorySet::EMPTY;
        let mut stack = vec![cat];
        while let Some(c) = stack.pop() {
            if !set.contains(c) {
                set.insert(c);
                stack.extend_from_slice(self.includes(c));
            }
        }
        set
    }

    fn reindex(&mut self) {
        // For each category D: the categories whose closure contains D.
        let closures: Vec<(Category, CategorySet)> = Category::ALL
            .iter()
            .map(|c| (*c, self.closure(*c)))
            .collect();
        let holders = |d: Category| -> CategorySet {
            closures
                .iter()
                .filter(|(_, cl)| cl.contains(d))
                .map(|(c, _)| *c)
                .collect()
        };
        let mut index = Index::default();
        for (cat, list) in &self.entries {
            let cats = holders(*cat);
            for p in list {
                let src = index.by_source.entry(p.source.clone()).or_default();
                if p.prefix {
                    match src.prefixes.iter_mut().find(|(n, _)| *n == p.name) {
                        Some((_, set)) => *set = set.union(cats),
                        None => src.prefixes.push((p.name.clone(), cats)),
                    }
                } else {
                    let set = src.exact.entry(p.name.clone()).or_default();
                    *set = set.union(cats);
                }
            }
        }
        self.index = index;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn builtin() -> Catalog {
        Catalog::builtin()
    }

    #[test]
    fn builtin_parses() {
        let c = Catalog::from_toml(BUILTIN_TOML, BUILTIN_ORIGIN).unwrap();
        for cat in Category::ALL {
            assert!(!c.apis(cat).is_empty(), "{cat} is empty");
            assert!(
                c.description(cat).is_some_and(|d| !d.is_empty()),
                "{cat} undescribed"
            );
        }
        // The shipped file lists every API explicitly so it can be reviewed line by line.
        for list in c.entries.values() {
            assert!(
                list.iter().all(|p| !p.is_prefix()),
                "wildcard in the shipped catalog"
            );
        }
        for cat in Category::ALL {
            eprintln!("{cat}: {} APIs", c.apis(cat).len());
        }
    }

    #[test]
    fn shipped_entries_are_written_plainly() {
        // Entries are written without version suffixes, so the text matches what people grep for.
        let c = builtin();
        for cat in Category::ALL {
            for (source, name) in c.apis(cat) {
                assert_eq!(normalize_event_name(&name), name, "{source}:{name}");
            }
        }
    }

    #[test]
    fn normalisation() {
        for (raw, want) in [
            ("CreateFunction20150331", "CreateFunction"),
            ("UpdateFunctionCode20150331v2", "UpdateFunctionCode"),
            ("AddPermission20150331v2", "AddPermission"),
            ("PublishLayerVersion20181031", "PublishLayerVersion"),
            ("UpdateDistribution2020_05_31", "UpdateDistribution"),
            ("RunInstances", "RunInstances"),
            ("ListObjectsV2", "ListObjectsV2"),
            ("Foo123456789", "Foo123456789"),
            ("20150331", "20150331"),
            ("Foov2", "Foov2"),
            ("Foo20150331v", "Foo20150331v"),
            ("", ""),
        ] {
            assert_eq!(normalize_event_name(raw), want, "{raw}");
        }
    }

    #[test]
    fn lookups() {
        let c = builtin();
        let ec2 = "ec2.amazonaws.com";
        let lambda = "lambda.amazonaws.com";
        assert!(c.is(Category::Provisioning, ec2, "RunInstances"));
        assert!(!c.is(Category::Sensitive, ec2, "RunInstances"));
        assert!(c.is(Category::Provisioning, lambda, "CreateFunction20150331"));
        assert!(c.is(Category::Sensitive, lambda, "UpdateFunctionCode20150331v2"));
        assert!(c.is(Category::Exposure, lambda, "AddPermission20150331v2"));
        assert!(c.is(Category::Destructive, lambda, "DeleteFunction20150331"));
        // Sensitive includes the other security categories.
        let stop = c.categories("cloudtrail.amazonaws.com", "StopLogging");
        assert!(stop.contains(Category::DefenseEvasion) && stop.contains(Category::Sensitive));
        assert_eq!(stop.len(), 2);
        // DeleteSnapshot is both destructive (and so sensitive) and a maintenance candidate.
        let del = c.categories(ec2, "DeleteSnapshot");
        assert_eq!(
            del.iter().collect::<Vec<_>>(),
            [
                Category::Destructive,
                Category::Sensitive,
                Category::MaintenanceCandidate
            ]
        );
        // Unknown source, unknown name, reads and a name of another source.
        assert!(c
            .categories("example.amazonaws.com", "RunInstances")
            .is_empty());
        assert!(c.categories(ec2, "DescribeInstances").is_empty());
        assert!(c.categories("iam.amazonaws.com", "RunInstances").is_empty());
        assert!(c.categories(ec2, "runinstances").is_empty());
        // apis() resolves include and is sorted.
        let sensitive = c.apis(Category::Sensitive);
        assert!(sensitive.windows(2).all(|w| w[0] < w[1]));
        for cat in [
            Category::IamChange,
            Category::DefenseEvasion,
            Category::Destructive,
            Category::Exposure,
        ] {
            for api in c.apis(cat) {
                assert!(sensitive.contains(&api), "{api:?} of {cat} not sensitive");
            }
        }
        assert!(sensitive.contains(&("signin.amazonaws.com".into(), "ConsoleLogin".into())));
        assert_eq!(c.includes(Category::Sensitive).len(), 4);
    }

    #[test]
    fn category_names_round_trip() {
        for cat in Category::ALL {
            let json = serde_json::to_string(&cat).unwrap();
            assert_eq!(json, format!("\"{}\"", cat.as_str()));
            assert_eq!(serde_json::from_str::<Category>(&json).unwrap(), cat);
        }
        let set: CategorySet = [Category::Exposure, Category::IamChange]
            .into_iter()
            .collect();
        assert_eq!(format!("{set:?}"), "{IamChange, Exposure}");
    }

    fn err(text: &str) -> String {
        Catalog::from_toml(text, "test.toml")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn bad_catalogs_are_explained() {
        let head = "schema_version = 1\n[categories.provisioning]\ndescription = \"d\"\n";
        for (entry, reason) in [
            ("ec2RunInstances", "no ':'"),
            ("ec2.amazonaws.com:Run:Instances", "exactly one ':'"),
            ("ec2:RunInstances", "amazonaws.com"),
            (".amazonaws.com:RunInstances", "amazonaws.com"),
            ("EC2.amazonaws.com:RunInstances", "lower-case"),
            ("ec2.amazonaws.com:", "empty"),
            ("ec2.amazonaws.com:Run*Instances", "last character"),
            ("ec2.amazonaws.com:Run Instances", "letter"),
            ("ec2.amazonaws.com:2Run", "letter"),
        ] {
            let text = format!(
                "{head}apis = [\n  \"ec2.amazonaws.com:RunInstances\",\n  \"{entry}\",\n]\n"
            );
            let e = err(&text);
            assert!(e.starts_with("test.toml:6: "), "{e}");
            assert!(e.contains("categories.provisioning.apis[1]"), "{e}");
            assert!(e.contains(&format!("{entry:?}")), "{e}");
            assert!(e.contains(reason), "{entry}: {e}");
        }

        // Duplicates, also after version normalisation, name both keys and values.
        let e = err(&format!(
            "{head}apis = [\"lambda.amazonaws.com:CreateFunction\",\n\
             \"lambda.amazonaws.com:CreateFunction20150331\"]"
        ));
        assert!(e.contains("categories.provisioning.apis[1]"), "{e}");
        assert!(
            e.contains("\"lambda.amazonaws.com:CreateFunction20150331\""),
            "{e}"
        );
        assert!(
            e.contains("duplicates categories.provisioning.apis[0]"),
            "{e}"
        );

        // Shape errors come from toml and name the key or value.
        let e = err(&format!("{head}apis = []\ncolour = \"red\""));
        assert!(e.starts_with("test.toml: ") && e.contains("colour"), "{e}");
        let e = err("schema_version = 1\n[categories.provisionin]\ndescription = \"d\"\n");
        assert!(e.contains("provisionin"), "{e}");
        let e = err(&format!("{head}apis = \"ec2.amazonaws.com:RunInstances\""));
        assert!(e.contains("apis"), "{e}");
        let e = err("schema_version = 1\n[categories.provisioning]\napis = []\n");
        assert!(e.contains("description"), "{e}");
        let e = err("schema_version = 2\n");
        assert!(e.contains("schema_version = 2"), "{e}");
        let e = err("[categories]\n");
        assert!(e.contains("schema_version"), "{e}");
        let e = err(&format!("{head}include = [\"provisioning\"]"));
        assert!(e.contains("categories.provisioning.include"), "{e}");
        let e = err("not toml at all");
        assert!(e.starts_with("test.toml: "), "{e}");
    }

    #[test]
    fn wildcards_and_includes() {
        let c = Catalog::from_toml(
            r#"schema_version = 1
[categories.defense_evasion]
description = "d"
apis = ["guardduty.amazonaws.com:Delete*", "config.amazonaws.com:*"]
[categories.exposure]
description = "e"
include = ["defense_evasion"]
[categories.sensitive]
description = "s"
include = ["exposure", "sensitive_free" ]
"#,
            "t",
        );
        // An unknown category in include is a toml error naming it.
        assert!(c.unwrap_err().to_string().contains("sensitive_free"));

        let c = Catalog::from_toml(
            r#"schema_version = 1
[categories.defense_evasion]
description = "d"
apis = ["guardduty.amazonaws.com:Delete*", "config.amazonaws.com:*"]
[categories.exposure]
description = "e"
include = ["defense_evasion", "sensitive"]
[categories.sensitive]
description = "s"
include = ["exposure"]
"#,
            "t",
        )
        .unwrap();
        let gd = c.categories("guardduty.amazonaws.com", "DeleteDetector");
        assert_eq!(gd.len(), 3, "{gd:?}");
        assert!(c.is(
            Category::Sensitive,
            "config.amazonaws.com",
            "StopConfigurationRecorder"
        ));
        assert!(!c.is(
            Category::DefenseEvasion,
            "guardduty.amazonaws.com",
            "CreateDetector"
        ));
        assert!(c.categories("ec2.amazonaws.com", "RunInstances").is_empty());
        assert_eq!(
            c.apis(Category::Sensitive),
            [
                ("config.amazonaws.com".to_owned(), "*".to_owned()),
                ("guardduty.amazonaws.com".to_owned(), "Delete*".to_owned()),
            ]
        );
        assert!(c.apis(Category::Provisioning).is_empty());
        assert_eq!(c.description(Category::Provisioning), None);
    }

    #[test]
    fn extension_adds_apis() {
        let ext: CatalogExtension = toml::from_str(
            r#"[categories]
provisioning = ["gamelift.amazonaws.com:CreateFleet", "ec2.amazonaws.com:RunInstances"]
destructive = [
  "dynamodb.amazonaws.com:DeleteGlobalTable",
  "lambda.amazonaws.com:DeleteAlias20150331",
]
"#,
        )
        .unwrap();
        let mut c = builtin();
        let before = c.apis(Category::Provisioning).len();
        assert!(!c.is(
            Category::Provisioning,
            "gamelift.amazonaws.com",
            "CreateFleet"
        ));
        c.extend(&ext);
        c.extend(&ext); // idempotent
        assert_eq!(c.apis(Category::Provisioning).len(), before + 1);
        assert!(c.is(
            Category::Provisioning,
            "gamelift.amazonaws.com",
            "CreateFleet"
        ));
        // Added to destructive, so sensitive (which includes it) sees them too.
        assert!(c.is(
            Category::Sensitive,
            "dynamodb.amazonaws.com",
            "DeleteGlobalTable"
        ));
        assert!(c.is(
            Category::Sensitive,
            "lambda.amazonaws.com",
            "DeleteAlias20150331v2"
        ));
        // The builtin itself is untouched.
        assert!(!builtin().is(
            Category::Provisioning,
            "gamelift.amazonaws.com",
            "CreateFleet"
        ));

        // Bad entries and unknown keys fail the config with the value.
        let e = toml::from_str::<CatalogExtension>(
            "[categories]\nprovisioning = [\"ec2:RunInstances\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("invalid API entry \"ec2:RunInstances\"") && e.contains("amazonaws.com"),
            "{e}"
        );
        assert_eq!(
            ApiPattern::try_from("ec2:RunInstances".to_string()).unwrap_err(),
            ApiEntryError {
                text: "ec2:RunInstances".into(),
                reason: ApiPatternError::BadSource
            }
        );
        let e = toml::from_str::<CatalogExtension>("[categories]\nprovision = []\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("provision"), "{e}");
        let e = toml::from_str::<CatalogExtension>("remove = []\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("remove"), "{e}");
        // And serialise back to the text form.
        let json = serde_json::to_string(&ext).unwrap();
        assert!(
            json.contains("\"lambda.amazonaws.com:DeleteAlias\""),
            "{json}"
        );
    }

    /// A technique's key API: service (the eventSource without `.amazonaws.com`), eventName and
    /// the category that must hold it.
    type KeyApi = (&'static str, &'static str, Category);

    /// Each Stratus Red Team technique: the API that carries it and the category that must hold
    /// it (`None`: nothing to catalogue — the technique is read-only discovery, visible to
    /// `error_rate` through its AccessDenied responses).
    const STRATUS: &[(&str, Option<KeyApi>)] = {
        use Category::*;
        &[
            (
                "aws.credential-access.ec2-get-password-data",
                Some(("ec2", "GetPasswordData", Sensitive)),
            ),
            (
                "aws.credential-access.ec2-steal-instance-credentials",
                Some(("ssm", "SendCommand", Sensitive)),
            ),
            (
                "aws.credential-access.secretsmanager-batch-retrieve-secrets",
                Some(("secretsmanager", "BatchGetSecretValue", Sensitive)),
            ),
            (
                "aws.credential-access.secretsmanager-retrieve-secrets",
                Some(("secretsmanager", "GetSecretValue", Sensitive)),
            ),
            (
                "aws.credential-access.ssm-retrieve-securestring-parameters",
                Some(("ssm", "GetParameters", Sensitive)),
            ),
            (
                "aws.defense-evasion.cloudtrail-delete",
                Some(("cloudtrail", "DeleteTrail", DefenseEvasion)),
            ),
            (
                "aws.defense-evasion.cloudtrail-event-selectors",
                Some(("cloudtrail", "PutEventSelectors", DefenseEvasion)),
            ),
            (
                "aws.defense-evasion.cloudtrail-stop",
                Some(("cloudtrail", "StopLogging", DefenseEvasion)),
            ),
            (
                "aws.defense-evasion.dns-delete-logs",
                Some((
                    "route53resolver",
                    "DeleteResolverQueryLogConfig",
                    DefenseEvasion,
                )),
            ),
            (
                "aws.defense-evasion.organizations-leave",
                Some(("organizations", "LeaveOrganization", DefenseEvasion)),
            ),
            (
                "aws.defense-evasion.vpc-remove-flow-logs",
                Some(("ec2", "DeleteFlowLogs", DefenseEvasion)),
            ),
            ("aws.discovery.ec2-download-user-data", None),
            (
                "aws.execution.ec2-launch-unusual-instances",
                Some(("ec2", "RunInstances", Provisioning)),
            ),
            (
                "aws.execution.ec2-user-data",
                Some(("ec2", "ModifyInstanceAttribute", Sensitive)),
            ),
            (
                "aws.execution.ssm-send-command",
                Some(("ssm", "SendCommand", Sensitive)),
            ),
            (
                "aws.execution.ssm-start-session",
                Some(("ssm", "StartSession", Sensitive)),
            ),
            (
                "aws.exfiltration.ec2-security-group-open-port-22-ingress",
                Some(("ec2", "AuthorizeSecurityGroupIngress", Exposure)),
            ),
            (
                "aws.exfiltration.ec2-share-ami",
                Some(("ec2", "ModifyImageAttribute", Exposure)),
            ),
            (
                "aws.exfiltration.ec2-share-ebs-snapshot",
                Some(("ec2", "ModifySnapshotAttribute", Exposure)),
            ),
            (
                "aws.exfiltration.rds-share-snapshot",
                Some(("rds", "ModifyDBSnapshotAttribute", Exposure)),
            ),
            (
                "aws.impact.bedrock-invoke-model",
                Some(("bedrock", "PutFoundationModelEntitlement", Provisioning)),
            ),
            (
                "aws.initial-access.console-login-without-mfa",
                Some(("signin", "ConsoleLogin", Sensitive)),
            ),
            (
                "aws.lateral-movement.ec2-instance-connect",
                Some(("ec2-instance-connect", "SendSSHPublicKey", Sensitive)),
            ),
            (
                "aws.lateral-movement.ec2-serial-console-send-ssh-public-key",
                Some((
                    "ec2-instance-connect",
                    "SendSerialConsoleSSHPublicKey",
                    Sensitive,
                )),
            ),
            (
                "aws.persistence.iam-backdoor-role",
                Some(("iam", "UpdateAssumeRolePolicy", IamChange)),
            ),
            (
                "aws.persistence.iam-backdoor-user",
                Some(("iam", "CreateAccessKey", IamChange)),
            ),
            (
                "aws.persistence.iam-create-admin-user",
                Some(("iam", "CreateUser", IamChange)),
            ),
            (
                "aws.persistence.iam-create-backdoor-role",
                Some(("iam", "CreateRole", IamChange)),
            ),
            (
                "aws.persistence.iam-create-user-login-profile",
                Some(("iam", "CreateLoginProfile", IamChange)),
            ),
            (
                "aws.persistence.lambda-backdoor-function",
                Some(("lambda", "AddPermission", Exposure)),
            ),
            (
                "aws.persistence.lambda-layer-extension",
                Some(("lambda", "UpdateFunctionConfiguration", Sensitive)),
            ),
            (
                "aws.persistence.lambda-overwrite-code",
                Some(("lambda", "UpdateFunctionCode", Sensitive)),
            ),
            (
                "aws.persistence.rolesanywhere-create-trust-anchor",
                Some(("rolesanywhere", "CreateTrustAnchor", IamChange)),
            ),
            (
                "aws.persistence.sts-federation-token",
                Some(("sts", "GetFederationToken", IamChange)),
            ),
            (
                "aws.privilege-escalation.iam-update-user-login-profile",
                Some(("iam", "UpdateLoginProfile", IamChange)),
            ),
        ]
    };

    /// Write calls in the samples that are the technique's scaffolding, not its substance.
    const STRATUS_CONTEXT: &[(&str, &str)] = &[
        ("ssm.amazonaws.com", "TerminateSession"), // closing the session StartSession opened
        ("ec2.amazonaws.com", "StartInstances"),   // restarting after ModifyInstanceAttribute
    ];

    #[test]
    fn stratus_techniques_are_catalogued() {
        let c = builtin();
        // The key APIs hold regardless of the sample files.
        for (technique, key) in STRATUS {
            if let Some((service, name, cat)) = key {
                let source = format!("{service}.amazonaws.com");
                let cats = c.categories(&source, name);
                assert!(
                    cats.contains(*cat),
                    "{technique}: {source}:{name} in {cats:?}, not {cat}"
                );
                assert!(
                    cats.contains(Category::Sensitive) || *cat == Category::Provisioning,
                    "{technique}: {source}:{name} is not watched by rare_action"
                );
            }
        }

        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stratus-red-team");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no samples in {}", dir.display());
        for path in files {
            let technique = path.file_stem().unwrap().to_str().unwrap();
            let key = STRATUS
                .iter()
                .find(|(t, _)| *t == technique)
                .unwrap_or_else(|| panic!("new Stratus sample {technique}: add it to STRATUS"))
                .1;
            let doc: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            let records = doc
                .get("Records")
                .unwrap_or(&doc)
                .as_array()
                .unwrap_or_else(|| panic!("{technique}: not an array of records"));
            let mut saw_key = key.is_none();
            for r in records {
                let source = r["eventSource"].as_str().unwrap();
                let name = r["eventName"].as_str().unwrap();
                let read_only = r["readOnly"].as_bool().unwrap_or(false);
                if let Some((service, key_name, _)) = key {
                    saw_key |= source == format!("{service}.amazonaws.com")
                        && normalize_event_name(name) == key_name;
                }
                // Every write the technique makes is catalogued somewhere, errors included
                // (a denied attempt is still the attempt).
                if !read_only && !STRATUS_CONTEXT.contains(&(source, name)) {
                    assert!(
                        !c.categories(source, name).is_empty(),
                        "{technique}: write {source}:{name} is in no category"
                    );
                }
            }
            assert!(saw_key, "{technique}: key API {key:?} not in the sample");
        }
    }
}
