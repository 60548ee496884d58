//! The HLS IP core as a board's accelerator. `baler hls` generates the encoder as an IP core with AXI4-Stream in
//! and out: `lanes` codes per beat, code `k` of a beat in bits `[k·W, (k+1)·W)`, beats of a power-of-two number
//! of bytes, TLAST on a frame's last beat. A soft core reaches it through an AXI4-Stream FIFO (AMD PG080) on
//! AXI4-Lite: each frame goes out as one packet and its latent codes come back as one. Register access is behind
//! [`Fifo`], so the same driver runs against a model of the IP on the host.

use super::{Image, Network, code_bytes};
use crate::fixed::FixedFormat;
use crate::protocol::{Accelerator, Codes, CodesWriter, ErrorCode, Info, MAX_PAYLOAD, VERSION};

/// Register access to the AXI4-Stream FIFO: 32-bit reads and writes at byte offsets (see [`reg`]).
pub trait Fifo {
    /// Reads the register at `offset`.
    fn read(&mut self, offset: u32) -> u32;
    /// Writes the register at `offset`.
    fn write(&mut self, offset: u32, value: u32);
}

/// The AXI4-Stream FIFO's registers (PG080, AXI4-Lite data interface).
pub mod reg {
    /// Interrupt status; write ones to clear.
    pub const ISR: u32 = 0x00;
    /// Transmit FIFO reset: write [`RESET_KEY`].
    pub const TDFR: u32 = 0x08;
    /// Transmit FIFO vacancy, in words.
    pub const TDFV: u32 = 0x0C;
    /// Transmit FIFO data: one word per write.
    pub const TDFD: u32 = 0x10;
    /// Transmit length in bytes: writing it sends the packet, TLAST on its last beat.
    pub const TLR: u32 = 0x14;
    /// Receive FIFO reset: write [`RESET_KEY`].
    pub const RDFR: u32 = 0x18;
    /// Receive FIFO occupancy, in words.
    pub const RDFO: u32 = 0x1C;
    /// Receive FIFO data: one word per read.
    pub const RDFD: u32 = 0x20;
    /// Receive length in bytes of the next packet (bits 22..0); read before its data.
    pub const RLR: u32 = 0x24;
    /// The value that resets a FIFO.
    pub const RESET_KEY: u32 = 0xA5;
}

/// How one frame travels as AXI4-Stream beats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Beats {
    /// Codes per frame.
    pub values: usize,
    /// Codes per beat.
    pub lanes: usize,
    /// Bytes per beat (TDATA).
    pub bytes: usize,
    /// The codes' format.
    pub format: FixedFormat,
}

impl Beats {
    /// The layout `baler hls` gives `values` codes of `format` in beats of at most `max_bits` (its
    /// `axis_max_bits`, 512 by default): as many codes per beat as fit, TDATA padded to a power-of-two number of
    /// bytes (8 to 4,096 bits), the widths AXI DMA and the AXI4-Stream infrastructure IP accept.
    pub fn new(values: usize, format: FixedFormat, max_bits: usize) -> Self {
        let width = format.width as usize;
        let lanes = values.min(max_bits / width).max(1);
        Beats {
            values,
            lanes,
            bytes: (lanes * width).div_ceil(8).next_power_of_two(),
            format,
        }
    }

    /// Bytes of one frame: every beat, padded to whole bytes.
    pub fn frame_bytes(&self) -> usize {
        self.values.div_ceil(self.lanes) * self.bytes
    }

    /// The bit of the frame where code `k` starts.
    fn bit(&self, k: usize) -> usize {
        (k / self.lanes) * self.bytes * 8 + (k % self.lanes) * self.format.width as usize
    }
}

/// Polls of a FIFO register before the IP core counts as not answering.
pub const PATIENCE: u32 = 1_000_000;

/// The encoder on the IP core, behind an AXI4-Stream FIFO.
pub struct IpCore<'a, F> {
    image: Image<'a>,
    encoder: Network<'a>,
    fifo: F,
    input: Beats,
    output: Beats,
    /// Frames the IP core did not answer, or answered with a packet of the wrong length.
    pub errors: u32,
}

impl<'a, F: Fifo> IpCore<'a, F> {
    /// The IP core of `image`'s encoder (whose shape and formats it has), its stream beats at most
    /// `axis_max_bits` wide, behind `fifo`; resets the FIFO. `None` if the image has no encoder.
    pub fn new(image: Image<'a>, fifo: F, axis_max_bits: usize) -> Option<Self> {
        let encoder = image.encoder?;
        let mut core = IpCore {
            image,
            encoder,
            fifo,
            input: Beats::new(encoder.inputs, encoder.input, axis_max_bits),
            output: Beats::new(encoder.outputs(), encoder.output(), axis_max_bits),
            errors: 0,
        };
        core.reset_fifo();
        Some(core)
    }

    /// The FIFO's registers.
    pub fn fifo_mut(&mut self) -> &mut F {
        &mut self.fifo
    }

    fn reset_fifo(&mut self) {
        self.fifo.write(reg::TDFR, reg::RESET_KEY);
        self.fifo.write(reg::RDFR, reg::RESET_KEY);
        self.fifo.write(reg::ISR, u32::MAX);
    }

    /// Waits until `register` reads at least `least`.
    fn wait(&mut self, register: u32, least: u32) -> Result<u32, ErrorCode> {
        for _ in 0..PATIENCE {
            let value = self.fifo.read(register);
            if value >= least {
                return Ok(value);
            }
        }
        Err(ErrorCode::Accelerator)
    }

    /// Sends one frame of codes and reads its output codes into `out`.
    fn frame(
        &mut self,
        codes: impl Iterator<Item = i64>,
        out: &mut [i64],
    ) -> Result<(), ErrorCode> {
        let bytes = self.input.frame_bytes();
        self.wait(reg::TDFV, bytes.div_ceil(4) as u32)?;
        let mut words = Packer::default();
        let width = self.input.format.width;
        for (k, code) in codes.enumerate() {
            words.pad(self.input.bit(k) - words.bits_written(), &mut self.fifo);
            words.push(code as u64, width, &mut self.fifo);
        }
        words.pad(bytes * 8 - words.bits_written(), &mut self.fifo);
        words.flush(&mut self.fifo);
        self.fifo.write(reg::TLR, bytes as u32);

        self.wait(reg::RDFO, 1)?;
        let length = (self.fifo.read(reg::RLR) & 0x7F_FFFF) as usize;
        let mut reader = Unpacker::default();
        if length != self.output.frame_bytes() {
            for _ in 0..length.div_ceil(4) {
                self.fifo.read(reg::RDFD);
            }
            return Err(ErrorCode::Accelerator);
        }
        let format = self.output.format;
        for (k, slot) in out.iter_mut().enumerate() {
            reader.skip(self.output.bit(k) - reader.bits_read(), &mut self.fifo);
            let raw = reader.take(format.width, &mut self.fifo);
            let shift = 64 - format.width;
            *slot = match format.signed {
                true => ((raw << shift) as i64) >> shift,
                false => raw as i64,
            };
        }
        // the rest of the packet: padding of the last beat
        for _ in reader.words..length.div_ceil(4) {
            self.fifo.read(reg::RDFD);
        }
        Ok(())
    }
}

fn mask(bits: u32) -> u128 {
    (1u128 << bits) - 1
}

/// Bits to 32-bit words of the transmit FIFO, least significant first.
#[derive(Default)]
struct Packer {
    acc: u128,
    held: u32,
    words: usize,
}

impl Packer {
    fn bits_written(&self) -> usize {
        self.words * 32 + self.held as usize
    }

    /// Appends the low `bits` bits of `value` (`bits` at most 64).
    fn push(&mut self, value: u64, bits: u32, fifo: &mut impl Fifo) {
        self.acc |= (u128::from(value) & mask(bits)) << self.held;
        self.held += bits;
        while self.held >= 32 {
            fifo.write(reg::TDFD, self.acc as u32);
            self.acc >>= 32;
            self.held -= 32;
            self.words += 1;
        }
    }

    /// Appends `bits` zero bits.
    fn pad(&mut self, bits: usize, fifo: &mut impl Fifo) {
        let mut left = bits;
        while left > 0 {
            let n = left.min(64);
            self.push(0, n as u32, fifo);
            left -= n;
        }
    }

    /// Sends the last, partial word.
    fn flush(&mut self, fifo: &mut impl Fifo) {
        if self.held > 0 {
            self.pad(32 - self.held as usize, fifo);
        }
    }
}

/// 32-bit words of the receive FIFO to bits, least significant first.
#[derive(Default)]
struct Unpacker {
    acc: u128,
    held: u32,
    words: usize,
}

impl Unpacker {
    fn bits_read(&self) -> usize {
        self.words * 32 - self.held as usize
    }

    /// The next `bits` bits (at most 64).
    fn take(&mut self, bits: u32, fifo: &mut impl Fifo) -> u64 {
        while self.held < bits {
            self.acc |= u128::from(fifo.read(reg::RDFD)) << self.held;
            self.held += 32;
            self.words += 1;
        }
        let value = (self.acc & mask(bits)) as u64;
        self.acc >>= bits;
        self.held -= bits;
        value
    }

    /// Passes over `bits` bits.
    fn skip(&mut self, bits: usize, fifo: &mut impl Fifo) {
        let mut left = bits;
        while left > 0 {
            let n = left.min(64);
            self.take(n as u32, fifo);
            left -= n;
        }
    }
}

impl<F: Fifo> Accelerator for IpCore<'_, F> {
    fn info(&self) -> Info<'_> {
        Info {
            version: VERSION,
            model_id: self.image.model_id,
            inputs: self.encoder.inputs as u16,
            latent: self.encoder.outputs() as u16,
            code_bytes: [
                code_bytes(self.encoder.input),
                code_bytes(self.encoder.output()),
                0,
            ],
            max_payload: MAX_PAYLOAD as u16,
            engine: 1,
            name: self.image.name,
        }
    }

    fn encode(&mut self, input: &Codes<'_>, out: &mut [u8]) -> Result<usize, ErrorCode> {
        let (inputs, outputs) = (self.input.values, self.output.values);
        let width = usize::from(code_bytes(self.output.format));
        if input.values != inputs {
            return Err(ErrorCode::Accelerator);
        }
        let fail = |_| ErrorCode::Accelerator;
        let mut writer = CodesWriter::new(out, input.frames, outputs, width).map_err(fail)?;
        let mut codes = input.iter();
        let mut latent = [0i64; super::MAX_VALUES];
        for _ in 0..input.frames {
            if let Err(e) = self.frame(codes.by_ref().take(inputs), &mut latent[..outputs]) {
                self.errors += 1;
                self.reset_fifo();
                return Err(e);
            }
            for &code in &latent[..outputs] {
                writer.push(code).map_err(fail)?;
            }
        }
        writer.finish().map_err(fail)
    }

    fn decode(&mut self, _latent: &Codes<'_>, _out: &mut [u8]) -> Result<usize, ErrorCode> {
        Err(ErrorCode::Unsupported)
    }

    fn reset(&mut self) {
        self.reset_fifo();
    }
}
