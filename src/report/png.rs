//! A minimal PNG writer (8-bit indexed colour) and reader (for tests and checks) on top of
//! flate2, which the crate already uses for gzip: a dedicated PNG crate would pull another
//! deflate backend and change the features of shared dependencies.

use std::io::{Read, Write};

use flate2::write::ZlibEncoder;
use flate2::Compression;

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

/// Encodes `w × h` palette indices (one byte per pixel) with `palette` (RGB triples, at most
/// 256) as an indexed PNG.
pub fn encode_indexed(pixels: &[u8], w: u32, h: u32, palette: &[[u8; 3]]) -> Vec<u8> {
    debug_assert_eq!(pixels.len(), (w * h) as usize);
    let mut out = Vec::with_capacity(pixels.len() / 16);
    out.extend_from_slice(&SIGNATURE);
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    // Bit depth 8, colour type 3 (indexed), deflate, filter method 0, no interlace.
    ihdr.extend_from_slice(&[8, 3, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"PLTE", &palette.concat());
    // Every row with filter type 0 (none): measured smallest on flat-colour charts.
    let mut z = ZlibEncoder::new(Vec::new(), Compression::new(6));
    for row in pixels.chunks_exact(w.max(1) as usize) {
        // Writes into a Vec cannot fail.
        let _ = z.write_all(&[0]);
        let _ = z.write_all(row);
    }
    let idat = z.finish().unwrap_or_default();
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A decoded PNG: dimensions and RGB pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// RGB triples, row by row.
    pub rgb: Vec<u8>,
}

/// Bytes that [`decode_indexed`] cannot decode.
#[derive(Debug, thiserror::Error)]
pub enum PngError {
    /// No PNG signature.
    #[error("not a PNG")]
    NotPng,
    /// A chunk's data runs past the end.
    #[error("truncated chunk")]
    TruncatedChunk,
    /// A chunk's CRC runs past the end.
    #[error("truncated crc")]
    TruncatedCrc,
    /// A chunk whose CRC does not match; its type.
    #[error("bad CRC in {0}")]
    BadCrc(String),
    /// Not 8-bit indexed colour, or interlaced.
    #[error("only 8-bit indexed, non-interlaced PNGs are supported")]
    Unsupported,
    /// The image data does not inflate.
    #[error("{0}")]
    Inflate(std::io::Error),
    /// Inflated image data of the wrong size for the dimensions.
    #[error("{len} bytes of pixels for {width}×{height}")]
    PixelCount {
        /// Bytes inflated.
        len: usize,
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
    },
    /// A row with a filter other than none.
    #[error("filtered rows are not supported")]
    Filtered,
    /// A pixel whose index is past the palette's end.
    #[error("index outside the palette")]
    PaletteIndex,
}

/// Decodes what [`encode_indexed`] writes (8-bit indexed, unfiltered rows), checking every
/// chunk's CRC; anything else is an error naming what is unsupported.
pub fn decode_indexed(bytes: &[u8]) -> Result<Decoded, PngError> {
    if bytes.len() < 8 || bytes[..8] != SIGNATURE {
        return Err(PngError::NotPng);
    }
    let (mut w, mut h) = (0u32, 0u32);
    let mut palette: Vec<[u8; 3]> = Vec::new();
    let mut idat = Vec::new();
    let mut i = 8;
    while i + 12 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[i..i + 4].try_into().expect("4 bytes")) as usize;
        let kind = &bytes[i + 4..i + 8];
        let data = bytes
            .get(i + 8..i + 8 + len)
            .ok_or(PngError::TruncatedChunk)?;
        let crc = bytes
            .get(i + 8 + len..i + 12 + len)
            .ok_or(PngError::TruncatedCrc)?;
        let mut c = flate2::Crc::new();
        c.update(kind);
        c.update(data);
        if c.sum().to_be_bytes() != crc {
            return Err(PngError::BadCrc(String::from_utf8_lossy(kind).into_owned()));
        }
        match kind {
            b"IHDR" => {
                w = u32::from_be_bytes(data[0..4].try_into().expect("4 bytes"));
                h = u32::from_be_bytes(data[4..8].try_into().expect("4 bytes"));
                if data[8..13] != [8, 3, 0, 0, 0] {
                    return Err(PngError::Unsupported);
                }
            }
            b"PLTE" => palette = data.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect(),
            b"IDAT" => idat.extend_from_slice(data),
            b"IEND" => break,
            _ => {}
        }
        i += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .map_err(PngError::Inflate)?;
    let stride = w as usize + 1;
    if raw.len() != stride * h as usize {
        return Err(PngError::PixelCount {
            len: raw.len(),
            width: w,
            height: h,
        });
    }
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for row in raw.chunks_exact(stride) {
        if row[0] != 0 {
            return Err(PngError::Filtered);
        }
        for &p in &row[1..] {
            rgb.extend_from_slice(palette.get(usize::from(p)).ok_or(PngError::PaletteIndex)?);
        }
    }
    Ok(Decoded {
        width: w,
        height: h,
        rgb,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_checks_crcs() {
        let pal = [[255, 255, 255], [0, 114, 178], [230, 159, 0]];
        let px: Vec<u8> = (0..12u8).map(|i| i % 3).collect();
        let png = encode_indexed(&px, 4, 3, &pal);
        let d = decode_indexed(&png).unwrap();
        assert_eq!((d.width, d.height), (4, 3));
        assert_eq!(&d.rgb[..9], &[255, 255, 255, 0, 114, 178, 230, 159, 0]);
        let mut bad = png.clone();
        let n = bad.len();
        bad[n - 20] ^= 1;
        assert!(matches!(decode_indexed(&bad), Err(PngError::BadCrc(k)) if k == "IDAT"));
        assert!(matches!(decode_indexed(b"GIF89a"), Err(PngError::NotPng)));
    }
}
