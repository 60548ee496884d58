//! `serial:<port>?baud=…`: a board over a serial link as a device. The quantised network's input values become
//! codes, go to the board in ENCODE (or DECODE) batches through the protocol client, and come back as the output
//! codes' values, bit-exact with `cpu-fixed`. `serial:twin?…` serves an emulated board (firmware logic and
//! software engine, paced at the baud rate, faults as asked) on a pseudo-terminal and opens that.

use super::client::{Client, ClientOptions, LinkCounters};
use super::faults::Faults;
use super::port::PortLink;
use super::pty::PtyBoard;
use crate::runtime::{Device, DeviceError, DeviceInfo};
use baler_core::ModelId;
use baler_core::engine::write_image;
use baler_core::fixed::FixedFormat;
use baler_core::protocol::MAX_WIRE;
use baler_core::quantized::QuantizedNetwork;
use std::path::PathBuf;
use std::time::Duration;

/// A `serial:` device as named: the port (or `twin`), the baud rate, the client's options and a twin's faults.
#[derive(Clone, Debug, PartialEq)]
pub struct SerialSpec {
    /// The port's path, or `twin` for an emulated board.
    pub port: String,
    /// Bits per second.
    pub baud: u32,
    /// The client's window, timeout, attempts and batch.
    pub options: ClientOptions,
    /// Faults of an emulated board's link.
    pub faults: Faults,
    /// The name as given, printed back.
    pub name: String,
}

impl SerialSpec {
    /// Parses what follows `serial:`: `<port>[?key=value&…]` with keys `baud` (default 115200), `window`,
    /// `timeout_ms`, `attempts`, `batch`, and for `twin` the fault rates `flip`, `drop`, `duplicate`, `insert`,
    /// `garbage`, `reset` (per byte). Without `timeout_ms`, a reply may take 100 ms more than the window's
    /// largest requests and replies take on the wire at the baud rate.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (port, query) = text.split_once('?').unwrap_or((text, ""));
        if port.is_empty() {
            return Err("a port must follow serial: (a path such as /dev/ttyUSB0, or twin)".into());
        }
        let mut spec = SerialSpec {
            port: port.into(),
            baud: 115_200,
            options: ClientOptions::default(),
            faults: Faults::default(),
            name: format!("serial:{text}"),
        };
        let mut timeout_given = false;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("'{pair}' is not key=value"))?;
            let number = |what: &str| -> Result<f64, String> {
                value
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .ok_or_else(|| format!("{key}={value}: {what}"))
            };
            let whole = |what: &str| -> Result<u64, String> {
                value
                    .parse::<u64>()
                    .map_err(|_| format!("{key}={value}: {what}"))
            };
            let rate = || {
                number("a rate per byte from 0 to 1").and_then(|r| {
                    if r <= 1.0 {
                        Ok(r)
                    } else {
                        Err(format!("{key}={value}: a rate per byte from 0 to 1"))
                    }
                })
            };
            match key {
                "baud" => {
                    spec.baud = u32::try_from(whole("bits per second")?)
                        .ok()
                        .filter(|&b| b >= 300)
                        .ok_or_else(|| format!("baud={value}: at least 300 bits per second"))?
                }
                "window" => {
                    spec.options.window = whole("requests in flight")?.clamp(1, 64) as usize
                }
                "timeout_ms" => {
                    spec.options.timeout = Duration::from_millis(whole("milliseconds")?.max(1));
                    timeout_given = true;
                }
                "attempts" => {
                    spec.options.attempts = whole("times a request is sent")?.clamp(1, 1000) as u32
                }
                "batch" => spec.options.batch = whole("frames per request")? as usize,
                "flip" => spec.faults.flip = rate()?,
                "drop" => spec.faults.drop = rate()?,
                "duplicate" => spec.faults.duplicate = rate()?,
                "insert" => spec.faults.insert = rate()?,
                "garbage" => spec.faults.garbage = rate()?,
                "reset" => spec.faults.reset = rate()?,
                _ => {
                    return Err(format!(
                        "unknown setting '{key}' (baud, window, timeout_ms, attempts, batch; for twin flip, drop, \
                         duplicate, insert, garbage, reset)"
                    ));
                }
            }
        }
        if !timeout_given {
            let wire_bytes = 2 * MAX_WIRE * spec.options.window;
            spec.options.timeout = Duration::from_millis(100)
                + Duration::from_secs_f64(wire_bytes as f64 * 10.0 / f64::from(spec.baud));
        }
        if spec.faults != Faults::default() && spec.port != "twin" {
            return Err("fault rates are for serial:twin, an emulated board".into());
        }
        Ok(spec)
    }
}

/// A board over a serial link running one network of the quantised model.
pub struct SerialDevice {
    info: DeviceInfo,
    client: Client<PortLink>,
    input: FixedFormat,
    output: FixedFormat,
    decode: bool,
    /// The emulated board of `serial:twin`, served until the device closes.
    _twin: Option<PtyBoard>,
}

impl SerialDevice {
    /// Opens the board of `spec` for `network` (the encoder, or the decoder) of the quantised model `id`: HELLO
    /// with the model id, and a check that the board runs that network.
    pub fn open(spec: &SerialSpec, network: &QuantizedNetwork, id: ModelId) -> crate::Result<Self> {
        let fail = |message: String| DeviceError {
            device: spec.name.clone(),
            message,
        };
        let inputs: usize = network.input_shape.iter().product();
        let outputs = network
            .spec()
            .output_shape()
            .map_or(0, |s| s.iter().product::<usize>());
        let twin = match spec.port.as_str() {
            "twin" => {
                // the twin runs what the device asks: this network, as the encoder or the decoder
                let (e, d) = if inputs > outputs {
                    (Some(network), None)
                } else {
                    (None, Some(network))
                };
                let image = write_image(id, "twin (emulated board on a pty)", e, d)
                    .map_err(|e| fail(format!("the twin cannot run this model: {e}")))?;
                Some(
                    PtyBoard::spawn(image, spec.baud, spec.faults, 1)
                        .map_err(|e| fail(format!("pty: {e}")))?,
                )
            }
            _ => None,
        };
        let path = match &twin {
            Some(board) => board.path().to_path_buf(),
            None => PathBuf::from(&spec.port),
        };
        let link = PortLink::open(&path, spec.baud)
            .map_err(|e| fail(format!("{}: {e}", path.display())))?;
        let client = Client::connect(link, id, spec.options).map_err(|e| fail(e.to_string()))?;
        let b = &client.board;
        let decode = match (inputs, outputs) {
            (i, o) if i == b.inputs && o == b.latent && b.code_bytes[0] > 0 => false,
            (i, o) if i == b.latent && o == b.inputs && b.code_bytes[2] > 0 => true,
            _ => {
                return Err(fail(format!(
                    "board '{}' runs a network of {} inputs and {} latent values, not this one ({inputs} → {outputs})",
                    b.name, b.inputs, b.latent
                ))
                .into());
            }
        };
        let info = DeviceInfo {
            name: spec.name.clone(),
            detail: format!(
                "board '{}' at {} baud, {} requests in flight",
                b.name, spec.baud, spec.options.window
            ),
            model_id: Some(id.to_string()),
            inputs,
            outputs,
        };
        Ok(SerialDevice {
            info,
            client,
            input: network.input,
            output: network.output(),
            decode,
            _twin: twin,
        })
    }

    /// What the link went through.
    pub fn counters(&self) -> LinkCounters {
        self.client.counters
    }
}

impl Device for SerialDevice {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn run(&mut self, input: &[f64]) -> Result<Vec<f64>, DeviceError> {
        crate::runtime::whole_frames(&self.info, input)?;
        let codes: Vec<i64> = input
            .iter()
            .map(|&v| self.input.from_f64(v) as i64)
            .collect();
        let result = match self.decode {
            false => self.client.encode(&codes),
            true => self.client.decode(&codes),
        };
        let output = result.map_err(|e| self.error(e.to_string()))?;
        Ok(output
            .into_iter()
            .map(|c| self.output.value_of(i128::from(c)))
            .collect())
    }
}
