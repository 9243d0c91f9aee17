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

/// A compiled selector expression.
#[derive(Debug)]
pub struct Selector {
    pub expression: String,
    program: Program,
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
    Ok(Selector {
        expression: expression.to_string(),
        program,
    })
}

impl Selector {
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
    fn errors_are_reported_not_panicked() {
        assert!(compile("device.driver ==").is_err());
        assert!(compile("gpu.driver == 'x'").unwrap_err().contains("gpu"));
        let e = eval(r#"device.attributes["gpu.nvidia.com"].profile == "1g.10gb""#).unwrap_err();
        assert!(e.contains("profile"), "{e}");
        assert!(eval("device.driver").unwrap_err().contains("bool"));
        assert!(eval(r#"quantity("lots") == quantity("1")"#).is_err());
    }
}
