//! DRA device selectors in CEL, with the variables and functions Kubernetes gives them.
//!
//! * `device.driver` — the driver name (string);
//! * `device.attributes["<domain>"].<name>` — typed attributes: `int`, `bool`, `string`,
//!   or a semantic version (compare with `.compareTo(semver("1.2.3"))`,
//!   `.isGreaterThan(...)`, `.isLessThan(...)`, `.major()` …);
//! * `device.capacity["<domain>"].<name>` — quantities (`.compareTo(quantity("40Gi"))`,
//!   `.isGreaterThan`, `.isLessThan`, `.asInteger()`, `.isInteger()`,
//!   `.asApproximateFloat()`, `.sign()`, `.add(...)`, `.sub(...)`).
//!
//! As in Kubernetes (`k8s.io/dynamic-resource-allocation/cel`), attributes without a
//! domain prefix belong to the driver's domain, an unknown domain reads as an empty map
//! (so `"x" in device.attributes["other.example.com"]` is false), and reading an
//! attribute the device does not have is an evaluation error. CEL's standard library,
//! `matches()` and the strings extension (`lowerAscii()`, `split()` …) are available.
//!
//! Differences from the API server: no static type check (a type error shows at
//! evaluation, not at compile time) and no cost limit; references to variables other
//! than `device` are rejected at compile time.

use std::any::Any;
use std::sync::{Arc, LazyLock};

use cel::common::traits::{Container, Indexer, Iterable, Iterator as CelIterator, Sizer};
use cel::common::types::{CelBool, CelDouble, CelInt, CelMap, CelMapKey, CelString, Type};
use cel::common::value::{CowVal, StaticVal, Val};
use cel::{Context, Env, ExecutionError, Program, Value};

use super::quantity::Quantity;
use super::semver::Semver;

static QUANTITY_TYPE: Type = Type::new_unspecified_type("kubernetes.Quantity");
static SEMVER_TYPE: Type = Type::new_unspecified_type("kubernetes.Semver");
static DEVICE_TYPE: Type = Type::new_unspecified_type("kubernetes.DRADevice");
static DOMAIN_MAP_TYPE: Type = Type::new_unspecified_type("kubernetes.DRADomainMap");

/// A quantity as a CEL value.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantityVal(pub Quantity);

impl Val for QuantityVal {
    fn get_type(&self) -> &Type {
        &QUANTITY_TYPE
    }
    fn cel_type() -> &'static Type {
        &QUANTITY_TYPE
    }
    fn equals(&self, other: &dyn Val) -> bool {
        other
            .downcast_ref::<QuantityVal>()
            .is_some_and(|o| o.0 == self.0)
    }
    fn clone_as_boxed<'v>(&self) -> Box<dyn Val + 'v> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}
impl StaticVal for QuantityVal {}

/// A semantic version as a CEL value.
#[derive(Clone, Debug, PartialEq)]
pub struct SemverVal(pub Semver);

impl Val for SemverVal {
    fn get_type(&self) -> &Type {
        &SEMVER_TYPE
    }
    fn cel_type() -> &'static Type {
        &SEMVER_TYPE
    }
    fn equals(&self, other: &dyn Val) -> bool {
        other
            .downcast_ref::<SemverVal>()
            .is_some_and(|o| o.0.precedence(&self.0).is_eq())
    }
    fn clone_as_boxed<'v>(&self) -> Box<dyn Val + 'v> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}
impl StaticVal for SemverVal {}

fn cmp_int(o: std::cmp::Ordering) -> CelInt {
    CelInt::from(o as i64)
}

fn quantity(s: &CelString<'_>) -> Result<QuantityVal, ExecutionError> {
    Quantity::parse(s.inner())
        .map(QuantityVal)
        .map_err(|e| ExecutionError::function_error("quantity", e))
}
fn is_quantity(s: &CelString<'_>) -> CelBool {
    CelBool::from(Quantity::parse(s.inner()).is_ok())
}
fn q_compare_to(a: &QuantityVal, b: &QuantityVal) -> CelInt {
    cmp_int(a.0.cmp(&b.0))
}
fn q_is_greater_than(a: &QuantityVal, b: &QuantityVal) -> CelBool {
    CelBool::from(a.0 > b.0)
}
fn q_is_less_than(a: &QuantityVal, b: &QuantityVal) -> CelBool {
    CelBool::from(a.0 < b.0)
}
fn q_add(a: &QuantityVal, b: &QuantityVal) -> Result<QuantityVal, ExecutionError> {
    a.0.checked_add(b.0)
        .map(QuantityVal)
        .ok_or_else(|| ExecutionError::function_error("add", "overflow"))
}
fn q_sub(a: &QuantityVal, b: &QuantityVal) -> Result<QuantityVal, ExecutionError> {
    a.0.checked_sub(b.0)
        .map(QuantityVal)
        .ok_or_else(|| ExecutionError::function_error("sub", "overflow"))
}
fn q_add_int(a: &QuantityVal, b: &CelInt) -> Result<QuantityVal, ExecutionError> {
    q_add(a, &QuantityVal(Quantity::from_units(*b.inner())))
}
fn q_sub_int(a: &QuantityVal, b: &CelInt) -> Result<QuantityVal, ExecutionError> {
    q_sub(a, &QuantityVal(Quantity::from_units(*b.inner())))
}
fn q_as_integer(a: &QuantityVal) -> Result<CelInt, ExecutionError> {
    a.0.as_integer().map(CelInt::from).ok_or_else(|| {
        ExecutionError::function_error(
            "asInteger",
            format!("{} is not an integer that fits int64", a.0),
        )
    })
}
fn q_is_integer(a: &QuantityVal) -> CelBool {
    CelBool::from(a.0.as_integer().is_some())
}
fn q_as_approximate_float(a: &QuantityVal) -> CelDouble {
    CelDouble::from(a.0.as_f64())
}
fn q_sign(a: &QuantityVal) -> CelInt {
    CelInt::from(a.0.signum())
}

fn semver(s: &CelString<'_>) -> Result<SemverVal, ExecutionError> {
    Semver::parse(s.inner())
        .map(SemverVal)
        .map_err(|e| ExecutionError::function_error("semver", e))
}
fn is_semver(s: &CelString<'_>) -> CelBool {
    CelBool::from(Semver::parse(s.inner()).is_ok())
}
fn v_compare_to(a: &SemverVal, b: &SemverVal) -> CelInt {
    cmp_int(a.0.precedence(&b.0))
}
fn v_is_greater_than(a: &SemverVal, b: &SemverVal) -> CelBool {
    CelBool::from(a.0.precedence(&b.0).is_gt())
}
fn v_is_less_than(a: &SemverVal, b: &SemverVal) -> CelBool {
    CelBool::from(a.0.precedence(&b.0).is_lt())
}
fn v_major(a: &SemverVal) -> CelInt {
    CelInt::from(a.0.major as i64)
}
fn v_minor(a: &SemverVal) -> CelInt {
    CelInt::from(a.0.minor as i64)
}
fn v_patch(a: &SemverVal) -> CelInt {
    CelInt::from(a.0.patch as i64)
}

fn build_env() -> Result<Env, cel::DeclarationError> {
    let mut env = Env::stdlib();
    env.add_extension(cel::extensions::strings)?;
    cel::add_overload!(env, fn quantity: (CelString) -> Result<QuantityVal>)?;
    cel::add_overload!(env, fn is_quantity: (CelString) -> CelBool)?;
    cel::add_member_overload!(env, fn q_compare_to: (QuantityVal, QuantityVal) -> CelInt, name = "compareTo")?;
    cel::add_member_overload!(env, fn q_is_greater_than: (QuantityVal, QuantityVal) -> CelBool, name = "isGreaterThan")?;
    cel::add_member_overload!(env, fn q_is_less_than: (QuantityVal, QuantityVal) -> CelBool, name = "isLessThan")?;
    cel::add_member_overload!(env, fn q_add: (QuantityVal, QuantityVal) -> Result<QuantityVal>, name = "add")?;
    cel::add_member_overload!(env, fn q_sub: (QuantityVal, QuantityVal) -> Result<QuantityVal>, name = "sub")?;
    cel::add_member_overload!(env, fn q_add_int: (QuantityVal, CelInt) -> Result<QuantityVal>, name = "add")?;
    cel::add_member_overload!(env, fn q_sub_int: (QuantityVal, CelInt) -> Result<QuantityVal>, name = "sub")?;
    cel::add_member_overload!(env, fn q_as_integer: (QuantityVal) -> Result<CelInt>, name = "asInteger")?;
    cel::add_member_overload!(env, fn q_is_integer: (QuantityVal) -> CelBool, name = "isInteger")?;
    cel::add_member_overload!(env, fn q_as_approximate_float: (QuantityVal) -> CelDouble, name = "asApproximateFloat")?;
    cel::add_member_overload!(env, fn q_sign: (QuantityVal) -> CelInt, name = "sign")?;
    cel::add_overload!(env, fn semver: (CelString) -> Result<SemverVal>)?;
    cel::add_overload!(env, fn is_semver: (CelString) -> CelBool)?;
    cel::add_member_overload!(env, fn v_compare_to: (SemverVal, SemverVal) -> CelInt, name = "compareTo")?;
    cel::add_member_overload!(env, fn v_is_greater_than: (SemverVal, SemverVal) -> CelBool, name = "isGreaterThan")?;
    cel::add_member_overload!(env, fn v_is_less_than: (SemverVal, SemverVal) -> CelBool, name = "isLessThan")?;
    cel::add_member_overload!(env, fn v_major: (SemverVal) -> CelInt, name = "major")?;
    cel::add_member_overload!(env, fn v_minor: (SemverVal) -> CelInt, name = "minor")?;
    cel::add_member_overload!(env, fn v_patch: (SemverVal) -> CelInt, name = "patch")?;
    Ok(env)
}

/// The one CEL environment for device selectors (built once per process; immutable).
static ENV: LazyLock<Result<Arc<Env>, String>> =
    LazyLock::new(|| build_env().map(Arc::new).map_err(|e| e.to_string()));

fn env() -> Result<&'static Arc<Env>, String> {
    ENV.as_ref()
        .map_err(|e| format!("internal error building the CEL environment: {e}"))
}

/// Identifiers that are neither `device` nor bound by a comprehension (`exists(x, ...)`).
fn free_variables(e: &cel::IdedExpr, scope: &mut Vec<String>, out: &mut Vec<String>) {
    use cel::common::ast::{EntryExpr, Expr};
    match &e.expr {
        Expr::Unspecified | Expr::Literal(_) => {}
        Expr::Ident(name) => {
            // A dotted name may be a type or namespace the environment knows (e.g. `int`).
            let known_type = matches!(
                name.as_str(),
                "int"
                    | "uint"
                    | "double"
                    | "bool"
                    | "string"
                    | "bytes"
                    | "list"
                    | "map"
                    | "null_type"
                    | "type"
            );
            if !known_type && !scope.iter().any(|s| s == name) {
                out.push(name.clone());
            }
        }
        Expr::Call(c) => {
            if let Some(t) = &c.target {
                free_variables(t, scope, out);
            }
            for a in &c.args {
                free_variables(a, scope, out);
            }
        }
        Expr::Select(s) => free_variables(&s.operand, scope, out),
        Expr::List(l) => {
            for el in &l.elements {
                free_variables(el, scope, out);
            }
        }
        Expr::Map(m) => {
            for entry in &m.entries {
                if let EntryExpr::MapEntry(me) = &entry.expr {
                    free_variables(&me.key, scope, out);
                    free_variables(&me.value, scope, out);
                }
            }
        }
        Expr::Struct(st) => {
            for entry in &st.entries {
                match &entry.expr {
                    EntryExpr::StructField(f) => free_variables(&f.value, scope, out),
                    EntryExpr::MapEntry(me) => {
                        free_variables(&me.key, scope, out);
                        free_variables(&me.value, scope, out);
                    }
                }
            }
        }
        Expr::Comprehension(c) => {
            free_variables(&c.iter_range, scope, out);
            free_variables(&c.accu_init, scope, out);
            let depth = scope.len();
            scope.push(c.accu_var.clone());
            free_variables(&c.result, scope, out);
            scope.push(c.iter_var.clone());
            if let Some(v2) = &c.iter_var2 {
                scope.push(v2.clone());
            }
            free_variables(&c.loop_cond, scope, out);
            free_variables(&c.loop_step, scope, out);
            scope.truncate(depth);
        }
    }
}

/// One value a selector reads: `device.attributes["<domain>"].<name>` or
/// `device.capacity["<domain>"].<name>` (its presence and value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    /// `device.capacity` rather than `device.attributes`.
    pub capacity: bool,
    /// `<domain>/`: the prefix of the domain's fully-qualified names.
    pub domain_prefix: String,
    /// `<domain>/<name>`: the fully-qualified name read.
    pub qualified: String,
    /// The domain has a `/`, which no published name's domain has: always absent.
    pub never: bool,
}

/// Everything of the device a selector can read, when that is known from its syntax:
/// `device` appears only as `device.driver` and as
/// `device.{attributes,capacity}["<literal>"].<name>` (a `has()` test too). Then the
/// selector's result (true, false, or its error) is a function of the driver and of
/// these slots, so devices that agree on them get the same result.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reads {
    pub driver: bool,
    pub slots: Vec<Slot>,
}

/// What a selector reads of `device`, or `None` when it may read more (any other use of
/// `device`: iterating a domain map, `size()`, `in`, a computed index ...).
fn device_reads(e: &cel::IdedExpr) -> Option<Reads> {
    use cel::common::ast::{EntryExpr, Expr, LiteralValue};

    fn is_device(e: &cel::IdedExpr, scope: &[String]) -> bool {
        matches!(&e.expr, Expr::Ident(n) if n == "device") && !scope.iter().any(|s| s == "device")
    }

    /// `device.attributes["d"].n` / `device.capacity["d"].n` → (capacity, d, n).
    fn slot<'e>(e: &'e cel::IdedExpr, scope: &[String]) -> Option<(bool, &'e str, &'e str)> {
        let Expr::Select(sel) = &e.expr else {
            return None;
        };
        let Expr::Call(call) = &sel.operand.expr else {
            return None;
        };
        if call.func_name != "_[_]" || call.target.is_some() || call.args.len() != 2 {
            return None;
        }
        let Expr::Select(map) = &call.args[0].expr else {
            return None;
        };
        if map.test || !is_device(&map.operand, scope) {
            return None;
        }
        let capacity = match map.field.as_str() {
            "attributes" => false,
            "capacity" => true,
            _ => return None,
        };
        let Expr::Literal(LiteralValue::String(domain)) = &call.args[1].expr else {
            return None;
        };
        Some((capacity, domain.inner(), sel.field.as_str()))
    }

    fn walk(e: &cel::IdedExpr, scope: &mut Vec<String>, out: &mut Reads) -> bool {
        if let Some((capacity, domain, name)) = slot(e, scope) {
            let slot = Slot {
                capacity,
                domain_prefix: format!("{domain}/"),
                qualified: format!("{domain}/{name}"),
                never: domain.contains('/'),
            };
            if !out.slots.contains(&slot) {
                out.slots.push(slot);
            }
            return true;
        }
        match &e.expr {
            Expr::Unspecified | Expr::Literal(_) => true,
            Expr::Ident(_) => !is_device(e, scope),
            Expr::Select(s) => {
                if is_device(&s.operand, scope) {
                    if s.field == "driver" && !s.test {
                        out.driver = true;
                        return true;
                    }
                    return false;
                }
                walk(&s.operand, scope, out)
            }
            Expr::Call(c) => {
                c.target.as_ref().is_none_or(|t| walk(t, scope, out))
                    && c.args.iter().all(|a| walk(a, scope, out))
            }
            Expr::List(l) => l.elements.iter().all(|el| walk(el, scope, out)),
            Expr::Map(m) => m.entries.iter().all(|entry| match &entry.expr {
                EntryExpr::MapEntry(me) => walk(&me.key, scope, out) && walk(&me.value, scope, out),
                EntryExpr::StructField(f) => walk(&f.value, scope, out),
            }),
            Expr::Struct(st) => st.entries.iter().all(|entry| match &entry.expr {
                EntryExpr::StructField(f) => walk(&f.value, scope, out),
                EntryExpr::MapEntry(me) => walk(&me.key, scope, out) && walk(&me.value, scope, out),
            }),
            Expr::Comprehension(c) => {
                if !walk(&c.iter_range, scope, out) || !walk(&c.accu_init, scope, out) {
                    return false;
                }
                let depth = scope.len();
                scope.push(c.accu_var.clone());
                let mut ok = walk(&c.result, scope, out);
                scope.push(c.iter_var.clone());
                if let Some(v2) = &c.iter_var2 {
                    scope.push(v2.clone());
                }
                ok = ok && walk(&c.loop_cond, scope, out) && walk(&c.loop_step, scope, out);
                scope.truncate(depth);
                ok
            }
        }
    }

    let mut out = Reads::default();
    walk(e, &mut Vec::new(), &mut out).then_some(out)
}

/// A compiled selector expression.
#[derive(Debug)]
pub struct Selector {
    pub expression: String,
    program: Program,
    reads: Option<Reads>,
}

/// Compiles one selector; the error text says what is wrong (the caller adds which
/// object and expression).
pub fn compile(expression: &str) -> Result<Selector, String> {
    let env = env()?;
    let program = env.compile(expression).map_err(|e| {
        let msg = e.to_string();
        msg.trim().to_string()
    })?;
    let mut unknown = Vec::new();
    free_variables(
        program.expression(),
        &mut vec!["device".to_string()],
        &mut unknown,
    );
    if !unknown.is_empty() {
        unknown.sort();
        unknown.dedup();
        return Err(format!(
            "undeclared reference to {} (the only variable is `device`)",
            unknown.join(", ")
        ));
    }
    let reads = device_reads(program.expression());
    Ok(Selector {
        expression: expression.to_string(),
        program,
        reads,
    })
}

impl Selector {
    /// What the selector reads of the device, when its syntax says (see [`Reads`]).
    pub fn reads(&self) -> Option<&Reads> {
        self.reads.as_ref()
    }

    /// Evaluates the selector for one device: true/false, or why it could not.
    pub fn matches(&self, device: &DeviceVal) -> Result<bool, String> {
        let env = env()?;
        let mut ctx = Context::with_env(env.clone());
        ctx.add_variable_as_val("device", Box::new(device.clone()));
        match self.program.execute(&ctx) {
            Ok(Value::Bool(b)) => Ok(b),
            Ok(other) => Err(format!("must evaluate to bool, not {other:?}")),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// An attribute value as a device publishes it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AttrValue {
    Int(i64),
    Bool(bool),
    String(String),
    Version(Semver),
}

impl AttrValue {
    fn to_val(&self) -> Box<dyn Val + 'static> {
        match self {
            AttrValue::Int(i) => Box::new(CelInt::from(*i)),
            AttrValue::Bool(b) => Box::new(CelBool::from(*b)),
            AttrValue::String(s) => Box::new(CelString::from(s.clone())),
            AttrValue::Version(v) => Box::new(SemverVal(v.clone())),
        }
    }
}

/// Values of one domain: (name, CEL value).
type DomainEntries = Vec<(String, Box<dyn Val + 'static>)>;

/// `device.attributes` / `device.capacity`: domain → (name → value); an unknown domain
/// reads as an empty map.
#[derive(Clone, Debug, Default)]
struct DomainMap {
    domains: Vec<(CelString<'static>, CelMap<'static>)>,
    empty: CelMap<'static>,
}

impl DomainMap {
    fn new(entries: Vec<(String, DomainEntries)>) -> DomainMap {
        DomainMap {
            domains: entries
                .into_iter()
                .map(|(domain, values)| {
                    let map: std::collections::HashMap<CelMapKey<'static>, Box<dyn Val + 'static>> =
                        values
                            .into_iter()
                            .map(|(k, v)| (CelMapKey::from(k), v))
                            .collect();
                    (CelString::from(domain), CelMap::from(map))
                })
                .collect(),
            empty: CelMap::default(),
        }
    }

    fn find(&self, key: &dyn Val) -> Result<Option<&CelMap<'static>>, ExecutionError> {
        let key =
            key.downcast_ref::<CelString>()
                .ok_or_else(|| ExecutionError::UnexpectedType {
                    got: key.get_type().name().to_owned(),
                    want: "string".to_owned(),
                })?;
        Ok(self
            .domains
            .iter()
            .find(|(d, _)| d.inner() == key.inner())
            .map(|(_, m)| m))
    }
}

impl Indexer for DomainMap {
    fn get<'b, 'v>(&'b self, idx: &dyn Val) -> Result<CowVal<'b, 'v>, ExecutionError>
    where
        Self: 'v,
    {
        Ok(CowVal::Borrowed(self.find(idx)?.unwrap_or(&self.empty)))
    }
    fn steal<'v>(self: Box<Self>, idx: &dyn Val) -> Result<Box<dyn Val + 'v>, ExecutionError>
    where
        Self: 'v,
    {
        self.get(idx).map(CowVal::into_owned)
    }
}

impl Container for DomainMap {
    fn contains(&self, value: &dyn Val) -> Result<bool, ExecutionError> {
        Ok(self.find(value)?.is_some())
    }
}

impl Sizer for DomainMap {
    fn size(&self) -> CelInt {
        CelInt::from(self.domains.len() as i64)
    }
}

struct DomainKeys<'b> {
    inner: std::slice::Iter<'b, (CelString<'static>, CelMap<'static>)>,
}

impl<'b, 'v> CelIterator<'b, 'v> for DomainKeys<'b> {
    fn next(&mut self) -> Option<&'b (dyn Val + 'v)> {
        self.inner.next().map(|(k, _)| k as &dyn Val)
    }
}

impl Iterable for DomainMap {
    fn iter<'b, 'v>(&'b self) -> Box<dyn CelIterator<'b, 'v> + 'b>
    where
        Self: 'v,
    {
        Box::new(DomainKeys {
            inner: self.domains.iter(),
        })
    }
}

impl Val for DomainMap {
    fn get_type(&self) -> &Type {
        &DOMAIN_MAP_TYPE
    }
    fn cel_type() -> &'static Type {
        &DOMAIN_MAP_TYPE
    }
    fn as_indexer<'b, 'v>(&'b self) -> Option<&'b (dyn Indexer + 'v)>
    where
        Self: 'v,
    {
        Some(self)
    }
    fn as_container(&self) -> Option<&dyn Container> {
        Some(self)
    }
    fn as_sizer(&self) -> Option<&dyn Sizer> {
        Some(self)
    }
    fn as_iterable<'b, 'v>(&'b self) -> Option<&'b (dyn Iterable + 'v)>
    where
        Self: 'v,
    {
        Some(self)
    }
    fn clone_as_boxed<'v>(&self) -> Box<dyn Val + 'v> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}
impl StaticVal for DomainMap {}

#[derive(Debug)]
struct DeviceData {
    driver: CelString<'static>,
    attributes: DomainMap,
    capacity: DomainMap,
}

/// The `device` variable for one device (cheap to clone).
#[derive(Clone, Debug)]
pub struct DeviceVal(Arc<DeviceData>);

/// Splits a qualified name into (domain, name); unqualified names take `driver`'s domain.
pub fn split_qualified<'a>(name: &'a str, driver: &'a str) -> (&'a str, &'a str) {
    match name.split_once('/') {
        Some((d, n)) => (d, n),
        None => (driver, name),
    }
}

impl DeviceVal {
    pub fn new<'a>(
        driver: &str,
        attributes: impl IntoIterator<Item = (&'a str, &'a AttrValue)>,
        capacity: impl IntoIterator<Item = (&'a str, &'a Quantity)>,
    ) -> DeviceVal {
        fn group(driver: &str, items: Vec<(&str, Box<dyn Val + 'static>)>) -> DomainMap {
            let mut by_domain: std::collections::BTreeMap<&str, DomainEntries> = Default::default();
            for (name, v) in items {
                let (d, n) = split_qualified(name, driver);
                by_domain.entry(d).or_default().push((n.to_string(), v));
            }
            DomainMap::new(
                by_domain
                    .into_iter()
                    .map(|(d, entries)| (d.to_string(), entries))
                    .collect(),
            )
        }
        let attrs = attributes
            .into_iter()
            .map(|(k, v)| (k, v.to_val()))
            .collect();
        let caps = capacity
            .into_iter()
            .map(|(k, q)| (k, Box::new(QuantityVal(*q)) as Box<dyn Val>))
            .collect();
        DeviceVal(Arc::new(DeviceData {
            driver: CelString::from(driver.to_string()),
            attributes: group(driver, attrs),
            capacity: group(driver, caps),
        }))
    }
}

impl Indexer for DeviceVal {
    fn get<'b, 'v>(&'b self, idx: &dyn Val) -> Result<CowVal<'b, 'v>, ExecutionError>
    where
        Self: 'v,
    {
        match idx.downcast_ref::<CelString>().map(CelString::inner) {
            Some("driver") => Ok(CowVal::Borrowed(&self.0.driver)),
            Some("attributes") => Ok(CowVal::Borrowed(&self.0.attributes)),
            Some("capacity") => Ok(CowVal::Borrowed(&self.0.capacity)),
            Some(other) => Err(ExecutionError::no_such_key(other)),
            None => Err(ExecutionError::UnexpectedType {
                got: idx.get_type().name().to_owned(),
                want: "string".to_owned(),
            }),
        }
    }
    fn steal<'v>(self: Box<Self>, idx: &dyn Val) -> Result<Box<dyn Val + 'v>, ExecutionError>
    where
        Self: 'v,
    {
        self.get(idx).map(CowVal::into_owned)
    }
}

impl Val for DeviceVal {
    fn get_type(&self) -> &Type {
        &DEVICE_TYPE
    }
    fn cel_type() -> &'static Type {
        &DEVICE_TYPE
    }
    fn as_indexer<'b, 'v>(&'b self) -> Option<&'b (dyn Indexer + 'v)>
    where
        Self: 'v,
    {
        Some(self)
    }
    fn clone_as_boxed<'v>(&self) -> Box<dyn Val + 'v> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}
impl StaticVal for DeviceVal {}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpu() -> DeviceVal {
        let attrs = [
            (
                "productName".to_string(),
                AttrValue::String("NVIDIA H100 80GB HBM3".into()),
            ),
            (
                "driverVersion".to_string(),
                AttrValue::Version(Semver::parse("550.54.15").unwrap()),
            ),
            ("index".to_string(), AttrValue::Int(3)),
            (
                "resource.kubernetes.io/pcieRoot".to_string(),
                AttrValue::String("pci0000:00".into()),
            ),
        ];
        let caps = [("memory".to_string(), Quantity::parse("80Gi").unwrap())];
        DeviceVal::new(
            "gpu.nvidia.com",
            attrs.iter().map(|(k, v)| (k.as_str(), v)),
            caps.iter().map(|(k, v)| (k.as_str(), v)),
        )
    }

    fn eval(expr: &str) -> Result<bool, String> {
        compile(expr)?.matches(&gpu())
    }

    #[test]
    fn kubernetes_style_selectors() {
        let t = |e: &str| assert_eq!(eval(e), Ok(true), "{e}");
        let f = |e: &str| assert_eq!(eval(e), Ok(false), "{e}");
        t(r#"device.driver == "gpu.nvidia.com""#);
        t(r#"device.attributes["gpu.nvidia.com"].productName == "NVIDIA H100 80GB HBM3""#);
        t(r#"device.attributes["gpu.nvidia.com"].productName.startsWith("NVIDIA H100")"#);
        t(r#"device.attributes["gpu.nvidia.com"].productName.lowerAscii().contains("h100")"#);
        t(r#"device.attributes["gpu.nvidia.com"].productName.matches("H1[0-9]0")"#);
        t(r#"device.capacity["gpu.nvidia.com"].memory.compareTo(quantity("40Gi")) >= 0"#);
        t(r#"device.capacity["gpu.nvidia.com"].memory.isGreaterThan(quantity("40Gi"))"#);
        f(r#"device.capacity["gpu.nvidia.com"].memory.isLessThan(quantity("80Gi"))"#);
        t(r#"device.capacity["gpu.nvidia.com"].memory == quantity("80Gi")"#);
        t(r#"device.attributes["gpu.nvidia.com"].driverVersion.isGreaterThan(semver("535.0.0"))"#);
        t(r#"device.attributes["gpu.nvidia.com"].driverVersion.major() == 550"#);
        t(r#"device.attributes["gpu.nvidia.com"].index < 4"#);
        t(r#"device.attributes["resource.kubernetes.io"].pcieRoot == "pci0000:00""#);
        f(r#""mig" in device.attributes["gpu.nvidia.com"]"#);
        f(r#""x" in device.attributes["other.example.com"]"#);
        t(r#"has(device.attributes["gpu.nvidia.com"].index)"#);
        f(r#"has(device.attributes["gpu.nvidia.com"].profile)"#);
        t(r#"device.attributes.exists(d, d == "resource.kubernetes.io")"#);
    }

    #[test]
    fn reads_are_known_only_for_plain_field_access() {
        let reads = |e: &str| compile(e).unwrap().reads().cloned();
        let r = reads(
            r#"device.driver == "x" && device.attributes["gpu.nvidia.com"].type == "gpu" && has(device.capacity["a.b"].memory) && device.attributes["gpu.nvidia.com"].type != "" "#,
        )
        .unwrap();
        assert!(r.driver);
        let names: Vec<_> = r
            .slots
            .iter()
            .map(|s| (s.capacity, s.qualified.as_str(), s.never))
            .collect();
        assert_eq!(
            names,
            [
                (false, "gpu.nvidia.com/type", false),
                (true, "a.b/memory", false)
            ]
        );
        assert!(reads(r#"device.attributes["a/b"].c == 1"#).unwrap().slots[0].never);
        assert_eq!(reads("1 == 1"), Some(Reads::default()));
        // A shadowed `device` is the loop variable, not the device.
        assert!(reads("[1].exists(device, device == 1)").is_some());
        for e in [
            r#"size(device.attributes["gpu.nvidia.com"]) == 2"#,
            r#""x" in device.attributes["gpu.nvidia.com"]"#,
            r#"device.attributes.exists(d, d == "x")"#,
            r#"device.attributes["gpu" + ".nvidia.com"].type == "gpu""#,
            r#"device.attributes["gpu.nvidia.com"]["type"] == "gpu""#,
            r#"has(device.driver)"#,
            r#"device.capacity == device.capacity"#,
            r#"[device].size() == 1"#,
        ] {
            assert_eq!(reads(e), None, "{e}");
        }
    }

    #[test]
    fn errors_are_reported_not_panicked() {
        assert!(compile("device.driver ==").is_err());
        assert!(compile("gpu.driver == 'x'").unwrap_err().contains("gpu"));
        let e = eval(r#"device.attributes["gpu.nvidia.com"].profile == "1g.10gb""#).unwrap_err();
        assert!(e.contains("profile"), "{e}");
        assert!(eval("device.driver").unwrap_err().contains("bool"));
        assert!(eval(r#"quantity("lots") == quantity("1")"#).is_err());
    }
}
