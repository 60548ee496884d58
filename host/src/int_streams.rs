//! Length-prefixed pco streams of integers (residual codes, latent codes, positions), each decoded into a buffer
//! of the size the header implies, never the size the stream claims.

/// The pco compression level: its default.
const PCO_LEVEL: usize = pco::DEFAULT_COMPRESSION_LEVEL;

/// The next `n` bytes at `at` (advanced past them).
pub(crate) fn take<'a>(
    bytes: &'a [u8],
    at: &mut usize,
    n: usize,
) -> std::result::Result<&'a [u8], String> {
    let end = at.checked_add(n).filter(|&e| e <= bytes.len());
    let slice = end.map(|e| &bytes[*at..e]).ok_or("truncated")?;
    *at += n;
    Ok(slice)
}

/// Appends `numbers` as a length-prefixed pco stream (an empty one for none).
pub(crate) fn put_stream<T: pco::data_types::Number>(out: &mut Vec<u8>, numbers: &[T]) {
    let bytes = if numbers.is_empty() {
        Vec::new()
    } else {
        let config = pco::ChunkConfig::default().with_compression_level(PCO_LEVEL);
        pco::standalone::simple_compress(numbers, &config).expect("pco compresses in memory")
    };
    out.extend((bytes.len() as u64).to_le_bytes());
    out.extend(bytes);
}

/// Decodes a length-prefixed stream of exactly `n` numbers into a buffer of that size (never more, whatever
/// the stream claims).
pub(crate) fn get_stream<T: pco::data_types::Number + Default>(
    bytes: &[u8],
    at: &mut usize,
    n: usize,
    what: &str,
) -> std::result::Result<Vec<T>, String> {
    let len = u64::from_le_bytes(take(bytes, at, 8)?.try_into().expect("8 bytes"));
    let stream = take(bytes, at, usize::try_from(len).unwrap_or(usize::MAX))?;
    if n == 0 {
        return match stream.is_empty() {
            true => Ok(Vec::new()),
            false => Err(format!("{what}: a stream where none is expected")),
        };
    }
    let mut out = vec![T::default(); n];
    let progress = pco::standalone::simple_decompress_into(stream, &mut out)
        .map_err(|e| format!("{what}: {e}"))?;
    if progress.n_processed != n || !progress.finished {
        return Err(format!(
            "{what}: the stream does not hold the {n} numbers expected"
        ));
    }
    Ok(out)
}
