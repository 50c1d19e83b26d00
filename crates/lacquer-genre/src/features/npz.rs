//! NumPy `.npz` files (a zip of `.npy` arrays), written and read without
//! Python.
//!
//! The trainer loads exported features with `numpy.load`, so the export has to
//! be a format numpy reads natively; writing it here keeps the exporter a
//! plain Rust binary. Only what the feature export needs is supported:
//! little-endian f32/f64/i64 and fixed-width unicode arrays, stored (not
//! deflated) zip entries, no ZIP64 (each file under 4 GiB). Entries carry a
//! fixed 1980-01-01 timestamp so the same features give the same bytes.

use super::FeatureError;

/// The element data of one array, flattened in C order.
#[derive(Debug, Clone, PartialEq)]
pub enum NpyData {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I64(Vec<i64>),
    /// numpy `<U…` (UTF-32, fixed width = the longest string).
    Str(Vec<String>),
}

impl NpyData {
    fn len(&self) -> usize {
        match self {
            Self::F32(v) => v.len(),
            Self::F64(v) => v.len(),
            Self::I64(v) => v.len(),
            Self::Str(v) => v.len(),
        }
    }
}

/// One n-dimensional array. An empty `shape` is a 0-d array (one element).
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub data: NpyData,
}

impl NpyArray {
    pub fn new(shape: Vec<usize>, data: NpyData) -> Result<Self, FeatureError> {
        let elements = shape.iter().product::<usize>();
        if elements != data.len() {
            return Err(FeatureError::Npz {
                detail: format!(
                    "shape {shape:?} holds {elements} elements but {} were given",
                    data.len()
                ),
            });
        }
        Ok(Self { shape, data })
    }

    /// A 1-d array of strings.
    pub fn strings(values: Vec<String>) -> Self {
        Self {
            shape: vec![values.len()],
            data: NpyData::Str(values),
        }
    }

    /// A 0-d string array (numpy: `arr[()]` gives the string back).
    pub fn scalar_string(value: String) -> Self {
        Self {
            shape: Vec::new(),
            data: NpyData::Str(vec![value]),
        }
    }

    /// The `.npy` (format 1.0) encoding of this array.
    pub fn to_npy_bytes(&self) -> Vec<u8> {
        let (descr, payload) = match &self.data {
            NpyData::F32(v) => ("<f4".to_owned(), le_bytes(v, |x| x.to_le_bytes())),
            NpyData::F64(v) => ("<f8".to_owned(), le_bytes(v, |x| x.to_le_bytes())),
            NpyData::I64(v) => ("<i8".to_owned(), le_bytes(v, |x| x.to_le_bytes())),
            NpyData::Str(v) => {
                let width = v
                    .iter()
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
                    .max(1);
                let mut out = Vec::with_capacity(v.len() * width * 4);
                for s in v {
                    let mut used = 0;
                    for c in s.chars() {
                        out.extend_from_slice(&u32::from(c).to_le_bytes());
                        used += 1;
                    }
                    out.resize(out.len() + (width - used) * 4, 0);
                }
                (format!("<U{width}"), out)
            }
        };
        let shape = match self.shape.as_slice() {
            [] => "()".to_owned(),
            [n] => format!("({n},)"),
            dims => format!(
                "({})",
                dims.iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let mut header =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        // magic (6) + version (2) + header length (2) + header, padded with
        // spaces and a final newline to a multiple of 64 bytes.
        let unpadded = NPY_PREAMBLE_V1 + header.len() + 1;
        header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
        header.push('\n');
        let mut out = Vec::with_capacity(NPY_PREAMBLE_V1 + header.len() + payload.len());
        out.extend_from_slice(NPY_MAGIC);
        out.extend_from_slice(&[1, 0]);
        // The header is at most a few hundred bytes, far below u16::MAX.
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&payload);
        out
    }

    /// Parses a `.npy` file of one of the supported dtypes.
    pub fn from_npy_bytes(bytes: &[u8]) -> Result<Self, FeatureError> {
        let bad = |detail: String| FeatureError::Npz { detail };
        if bytes.len() < NPY_PREAMBLE_V1 || &bytes[..6] != NPY_MAGIC {
            return Err(bad("not a .npy array (bad magic)".to_owned()));
        }
        let (header_len, header_start) = match bytes[6] {
            1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
            2 | 3 if bytes.len() >= 12 => (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            ),
            v => return Err(bad(format!("unsupported .npy version {v}"))),
        };
        let header_end = header_start + header_len;
        let header = bytes
            .get(header_start..header_end)
            .and_then(|h| std::str::from_utf8(h).ok())
            .ok_or_else(|| bad("truncated or non-text .npy header".to_owned()))?;
        let descr = header_value(header, "descr")
            .and_then(|v| v.strip_prefix('\'')?.split('\'').next())
            .ok_or_else(|| bad(format!("no descr in header {header:?}")))?;
        if header_value(header, "fortran_order").is_some_and(|v| v.starts_with("True")) {
            return Err(bad("Fortran-ordered arrays are not supported".to_owned()));
        }
        let shape_text = header_value(header, "shape")
            .and_then(|v| v.strip_prefix('(')?.split(')').next())
            .ok_or_else(|| bad(format!("no shape in header {header:?}")))?;
        let shape = shape_text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<usize>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(format!("bad shape {shape_text:?}: {e}")))?;
        let elements = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        let elements = elements.ok_or_else(|| bad(format!("shape {shape:?} overflows")))?;
        let payload = &bytes[header_end..];
        let fixed = |width: usize| -> Result<&[u8], FeatureError> {
            let needed = elements
                .checked_mul(width)
                .ok_or_else(|| bad(format!("shape {shape:?} overflows")))?;
            payload.get(..needed).ok_or_else(|| {
                bad(format!(
                    "payload holds {} bytes, {needed} needed for {shape:?} of {descr}",
                    payload.len()
                ))
            })
        };
        let data = match descr {
            "<f4" => NpyData::F32(
                fixed(4)?
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ),
            "<f8" => NpyData::F64(
                fixed(8)?
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                    .collect(),
            ),
            "<i8" => NpyData::I64(
                fixed(8)?
                    .chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                    .collect(),
            ),
            d if d.starts_with("<U") => {
                let width: usize = d[2..]
                    .parse()
                    .map_err(|_| bad(format!("bad unicode width in {d:?}")))?;
                let raw = fixed(width.max(1) * 4)?;
                let mut strings = Vec::with_capacity(elements);
                for item in raw.chunks_exact(width.max(1) * 4) {
                    let mut s = String::with_capacity(width);
                    for c in item.chunks_exact(4) {
                        let code = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                        if code == 0 {
                            break;
                        }
                        s.push(char::from_u32(code).ok_or_else(|| {
                            bad(format!("invalid code point {code:#x} in a string"))
                        })?);
                    }
                    strings.push(s);
                }
                NpyData::Str(strings)
            }
            other => return Err(bad(format!("unsupported dtype {other:?}"))),
        };
        Self::new(shape, data)
    }
}

const NPY_MAGIC: &[u8; 6] = b"\x93NUMPY";
const NPY_PREAMBLE_V1: usize = 10;

fn le_bytes<T: Copy, const N: usize>(values: &[T], to_le: impl Fn(T) -> [u8; N]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * N);
    for &v in values {
        out.extend_from_slice(&to_le(v));
    }
    out
}

/// The text after `'key':` in a numpy header dict, leading spaces removed.
fn header_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let pattern = format!("'{key}':");
    let at = header.find(&pattern)? + pattern.len();
    Some(header[at..].trim_start())
}

const LOCAL_HEADER_SIG: u32 = 0x0403_4b50;
const CENTRAL_HEADER_SIG: u32 = 0x0201_4b50;
const END_OF_CENTRAL_DIR_SIG: u32 = 0x0605_4b50;
const LOCAL_HEADER_LEN: usize = 30;
const CENTRAL_HEADER_LEN: usize = 46;
const END_OF_CENTRAL_DIR_LEN: usize = 22;
/// MS-DOS date of 1980-01-01: a fixed timestamp keeps the output reproducible.
const DOS_DATE_1980_01_01: u16 = (1 << 5) | 1;
const ZIP_VERSION_2_0: u16 = 20;

/// Writes the arrays as an uncompressed `.npz` (numpy's `np.savez` layout):
/// entry `name` becomes `name.npy`, in the order given.
pub fn write_npz(arrays: &[(&str, &NpyArray)]) -> Result<Vec<u8>, FeatureError> {
    let too_big = |what: &str| FeatureError::Npz {
        detail: format!("{what} exceeds 4 GiB; ZIP64 is not supported"),
    };
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, array) in arrays {
        let file_name = format!("{name}.npy");
        let payload = array.to_npy_bytes();
        let size = u32::try_from(payload.len()).map_err(|_| too_big(&file_name))?;
        let offset = u32::try_from(out.len()).map_err(|_| too_big("the archive"))?;
        let name_len = u16::try_from(file_name.len()).map_err(|_| FeatureError::Npz {
            detail: format!("entry name {file_name:?} is too long"),
        })?;
        let crc = crc32fast::hash(&payload);

        push_u32(&mut out, LOCAL_HEADER_SIG);
        for v in [ZIP_VERSION_2_0, 0, 0, 0, DOS_DATE_1980_01_01] {
            push_u16(&mut out, v); // version needed, flags, method (stored), time, date
        }
        for v in [crc, size, size] {
            push_u32(&mut out, v);
        }
        push_u16(&mut out, name_len);
        push_u16(&mut out, 0); // extra field length
        out.extend_from_slice(file_name.as_bytes());
        out.extend_from_slice(&payload);

        push_u32(&mut central, CENTRAL_HEADER_SIG);
        for v in [
            ZIP_VERSION_2_0,
            ZIP_VERSION_2_0,
            0,
            0,
            0,
            DOS_DATE_1980_01_01,
        ] {
            push_u16(&mut central, v); // made by, needed, flags, method, time, date
        }
        for v in [crc, size, size] {
            push_u32(&mut central, v);
        }
        for v in [name_len, 0, 0, 0, 0] {
            push_u16(&mut central, v); // name, extra, comment lengths, disk, internal attrs
        }
        push_u32(&mut central, 0); // external attributes
        push_u32(&mut central, offset);
        central.extend_from_slice(file_name.as_bytes());
    }
    let entries = u16::try_from(arrays.len()).map_err(|_| FeatureError::Npz {
        detail: format!("{} entries exceed the zip limit of 65535", arrays.len()),
    })?;
    let central_offset = u32::try_from(out.len()).map_err(|_| too_big("the archive"))?;
    let central_len = u32::try_from(central.len()).map_err(|_| too_big("the directory"))?;
    out.extend_from_slice(&central);
    push_u32(&mut out, END_OF_CENTRAL_DIR_SIG);
    for v in [0, 0, entries, entries] {
        push_u16(&mut out, v); // this disk, directory disk, entries here, entries total
    }
    push_u32(&mut out, central_len);
    push_u32(&mut out, central_offset);
    push_u16(&mut out, 0); // comment length
    Ok(out)
}

/// Reads every entry of an uncompressed `.npz` (as [`write_npz`] or numpy's
/// `np.savez` writes it), in archive order, names without `.npy`.
pub fn read_npz(bytes: &[u8]) -> Result<Vec<(String, NpyArray)>, FeatureError> {
    let bad = |detail: String| FeatureError::Npz { detail };
    let eocd = (0..=bytes.len().saturating_sub(END_OF_CENTRAL_DIR_LEN))
        .rev()
        .find(|&at| read_u32(bytes, at) == Some(END_OF_CENTRAL_DIR_SIG))
        .ok_or_else(|| bad("not a zip archive (no end-of-directory record)".to_owned()))?;
    let field = |at: usize| read_u16(bytes, at).map(usize::from);
    let truncated = || bad("truncated zip archive".to_owned());
    let entries = field(eocd + 10).ok_or_else(truncated)?;
    let mut at = read_u32(bytes, eocd + 16).ok_or_else(truncated)? as usize;
    let mut arrays = Vec::with_capacity(entries);
    for _ in 0..entries {
        if read_u32(bytes, at) != Some(CENTRAL_HEADER_SIG) {
            return Err(bad(format!("bad central directory entry at byte {at}")));
        }
        let method = field(at + 10).ok_or_else(truncated)?;
        let size = read_u32(bytes, at + 20).ok_or_else(truncated)? as usize;
        let name_len = field(at + 28).ok_or_else(truncated)?;
        let extra_len = field(at + 30).ok_or_else(truncated)?;
        let comment_len = field(at + 32).ok_or_else(truncated)?;
        let local = read_u32(bytes, at + 42).ok_or_else(truncated)? as usize;
        let name_start = at + CENTRAL_HEADER_LEN;
        let name = bytes
            .get(name_start..name_start + name_len)
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .ok_or_else(truncated)?;
        if method != 0 {
            return Err(bad(format!(
                "entry {name} is compressed (method {method}); only stored entries are read"
            )));
        }
        if read_u32(bytes, local) != Some(LOCAL_HEADER_SIG) {
            return Err(bad(format!("bad local header for entry {name}")));
        }
        let data_start = local
            + LOCAL_HEADER_LEN
            + field(local + 26).ok_or_else(truncated)?
            + field(local + 28).ok_or_else(truncated)?;
        let payload = bytes
            .get(data_start..data_start + size)
            .ok_or_else(truncated)?;
        let array = NpyArray::from_npy_bytes(payload).map_err(|e| match e {
            FeatureError::Npz { detail } => bad(format!("entry {name}: {detail}")),
            other => other,
        })?;
        let stem = name.strip_suffix(".npy").unwrap_or(&name).to_owned();
        arrays.push((stem, array));
        at = name_start + name_len + extra_len + comment_len;
    }
    Ok(arrays)
}

fn push_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn push_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_of_every_dtype_round_trip_through_npz() -> Result<(), FeatureError> {
        let x = NpyArray::new(
            vec![2, 1, 2, 3],
            NpyData::F32((0..12).map(|i| i as f32 * 0.5 - 2.0).collect()),
        )?;
        let y = NpyArray::new(vec![3], NpyData::I64(vec![-1, 0, i64::MAX]))?;
        let t = NpyArray::new(vec![2], NpyData::F64(vec![0.25, f64::MIN_POSITIVE]))?;
        let s = NpyArray::strings(vec!["ambient".into(), "".into(), "métal_ü".into()]);
        let one = NpyArray::scalar_string("{\"a\": 1}".into());
        let bytes = write_npz(&[("x", &x), ("y", &y), ("t", &t), ("s", &s), ("one", &one)])?;
        let back = read_npz(&bytes)?;
        let names: Vec<_> = back.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["x", "y", "t", "s", "one"]);
        assert_eq!(back[0].1, x);
        assert_eq!(back[1].1, y);
        assert_eq!(back[2].1, t);
        assert_eq!(back[3].1, s);
        assert_eq!(back[4].1, one);
        Ok(())
    }

    #[test]
    fn npy_headers_are_padded_to_64_bytes() {
        let a = NpyArray::strings(vec!["abc".into()]);
        let bytes = a.to_npy_bytes();
        let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
        assert_eq!((NPY_PREAMBLE_V1 + header_len) % 64, 0);
        assert_eq!(bytes[NPY_PREAMBLE_V1 + header_len - 1], b'\n');
    }

    #[test]
    fn mismatched_shape_and_garbage_are_errors_not_panics() -> Result<(), FeatureError> {
        assert!(NpyArray::new(vec![2, 2], NpyData::F32(vec![0.0; 3])).is_err());
        assert!(read_npz(b"").is_err());
        assert!(read_npz(&[0u8; 100]).is_err());
        let x = NpyArray::new(vec![4], NpyData::F32(vec![1.0; 4]))?;
        let bytes = write_npz(&[("x", &x)])?;
        for cut in [1, 10, 40, bytes.len() / 2, bytes.len() - 5] {
            assert!(read_npz(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        Ok(())
    }
}
