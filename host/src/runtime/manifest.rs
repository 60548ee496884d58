//! Bitstream manifests (`bitstreams/*.json`): the board, platform, part and clock a `.xclbin` was built for,
//! its kernel (name, model id, formats, buffer types) and its sha256. The runtime refuses a bitstream whose
//! checksum or model id does not match.

use baler_hls::KernelDescription;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// A manifest file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BitstreamManifest {
    /// `baler-bitstream`.
    pub format: String,
    /// The board (e.g. `alveo-u250`, or `software-twin` for a C-simulated kernel).
    pub board: String,
    /// Vitis platform.
    pub platform: String,
    /// FPGA part.
    pub part: String,
    /// Kernel clock, MHz.
    pub clock_mhz: f64,
    /// The `.xclbin`, relative to the manifest's folder (or absolute).
    pub xclbin: String,
    /// sha256 of the `.xclbin`, hex.
    pub sha256: String,
    /// The kernel inside: name, model id, sizes, formats and buffer element types.
    pub kernel: KernelDescription,
}

/// The sha256 of a file, hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// `path` relative to the folder `base` (both absolute), with `..` where needed.
fn relative_to(path: &Path, base: &Path) -> PathBuf {
    let (p, b): (Vec<_>, Vec<_>) = (path.components().collect(), base.components().collect());
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut relative: PathBuf = b[common..].iter().map(|_| "..").collect();
    relative.extend(&p[common..]);
    relative
}

#[derive(Deserialize)]
struct HlsReport {
    config: HlsConfigPart,
    kernel: KernelDescription,
}

#[derive(Deserialize)]
struct HlsConfigPart {
    part: String,
    platform: String,
    clock_mhz: f64,
}

impl BitstreamManifest {
    /// The manifest of `xclbin`, built from the HLS project `hls_project` (its report.json) for `board`;
    /// `manifest_dir` is where the manifest will live (the xclbin path is stored relative to it when possible).
    pub fn describe(
        xclbin: &Path,
        hls_project: &Path,
        board: &str,
        manifest_dir: &Path,
    ) -> Result<Self, String> {
        let report_path = hls_project.join(baler_hls::project::REPORT);
        let text = std::fs::read_to_string(&report_path)
            .map_err(|e| format!("{}: {e}", report_path.display()))?;
        let report: HlsReport = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not an HLS report: {e}", report_path.display()))?;
        let sha256 = sha256_file(xclbin).map_err(|e| format!("{}: {e}", xclbin.display()))?;
        let absolute =
            std::path::absolute(xclbin).map_err(|e| format!("{}: {e}", xclbin.display()))?;
        let base = std::path::absolute(manifest_dir)
            .map_err(|e| format!("{}: {e}", manifest_dir.display()))?;
        let stored = relative_to(&absolute, &base);
        Ok(BitstreamManifest {
            format: "baler-bitstream".into(),
            board: board.into(),
            platform: report.config.platform,
            part: report.config.part,
            clock_mhz: report.config.clock_mhz,
            xclbin: stored.display().to_string(),
            sha256,
            kernel: report.kernel,
        })
    }

    /// Describes `xclbin` (see [`BitstreamManifest::describe`]) and writes the manifest to `output` atomically.
    pub fn write(
        xclbin: &Path,
        hls_project: &Path,
        board: &str,
        output: &Path,
    ) -> crate::Result<Self> {
        let dir = output
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let manifest = Self::describe(xclbin, hls_project, board, dir).map_err(|message| {
            crate::Error::Mismatch(format!(
                "no manifest written to {}: {message}",
                output.display()
            ))
        })?;
        let json = serde_json::to_vec_pretty(&manifest).expect("a manifest serialises");
        crate::fsutil::create_dir(dir)?;
        crate::fsutil::write_bytes(output, &json)?;
        Ok(manifest)
    }

    /// Reads a manifest and checks its `.xclbin` against the recorded sha256; returns it with the xclbin's path.
    pub fn load(path: &Path) -> Result<(Self, PathBuf), String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let manifest: BitstreamManifest = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a bitstream manifest: {e}", path.display()))?;
        if manifest.format != "baler-bitstream" {
            return Err(format!(
                "{}: format '{}' is not baler-bitstream",
                path.display(),
                manifest.format
            ));
        }
        let xclbin = path
            .parent()
            .unwrap_or(Path::new("."))
            .join(&manifest.xclbin);
        let sha256 = sha256_file(&xclbin).map_err(|e| format!("{}: {e}", xclbin.display()))?;
        if sha256 != manifest.sha256 {
            return Err(format!(
                "{} has sha256 {sha256}, the manifest {} records {}: the bitstream was rebuilt or damaged",
                xclbin.display(),
                path.display(),
                manifest.sha256
            ));
        }
        Ok((manifest, xclbin))
    }
}
