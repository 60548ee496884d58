//! The client against the emulated board: the jet model's codes through a clean link equal the fixed-point
//! reference's; through each kind of fault at 1e-3 per byte (resets at 1e-4) nothing is lost, duplicated, reordered
//! or corrupted; a board that stops answering or runs another model is a typed error.

use super::*;
use crate::data::Dataset;
use crate::model::QuantizedModel;
use baler_core::ModelId;
use baler_core::engine::{Image, write_image};
use baler_core::protocol::ErrorCode;
use std::path::Path;
use std::time::Duration;

/// The jet model, the input codes of `rows` rows of the shipped table, and the reference's latent and restored codes.
fn jets(rows: usize) -> (QuantizedModel, Vec<i64>, Vec<i64>, Vec<i64>) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let model = QuantizedModel::load(&repo.join("models/jets-baler-9to5")).unwrap();
    let mut data = Dataset::load(&repo.join("data/hep_jets_dijet.npy"), &[]).unwrap();
    data.rows = rows;
    data.values.truncate(rows * 9);
    let normalized = data.normalized(&model.decoder.normalization);
    let (encoder, decoder) = (&model.encoder, &model.decoder.network);
    let input: Vec<i64> = normalized
        .iter()
        .map(|&v| encoder.input.from_f64(v) as i64)
        .collect();
    let (run_encoder, run_decoder) = (encoder.runner(), decoder.runner());
    let latent: Vec<i64> = normalized
        .chunks(9)
        .flat_map(|row| run_encoder.run(row))
        .map(|c| c as i64)
        .collect();
    let latent_format = encoder.output();
    let restored: Vec<i64> = latent
        .chunks(5)
        .flat_map(|frame| {
            let values: Vec<f64> = frame
                .iter()
                .map(|&c| latent_format.value_of(i128::from(c)))
                .collect();
            run_decoder.run(&values)
        })
        .map(|c| c as i64)
        .collect();
    (model, input, latent, restored)
}

/// The firmware's model image of the jet model: encoder and decoder.
fn image(model: &QuantizedModel) -> Vec<u8> {
    let (encoder, decoder) = (&model.encoder, &model.decoder.network);
    write_image(model.decoder.id, "twin", Some(encoder), Some(decoder)).unwrap()
}

fn twin(image: &[u8], faults: Faults, seed: u64) -> TwinLink<'_> {
    TwinLink::new(Image::parse(image).unwrap(), faults, seed)
}

#[test]
fn a_clean_link_gives_the_reference_codes() {
    let (model, input, latent, restored) = jets(3000);
    let image = image(&model);
    let link = twin(&image, Faults::default(), 1);
    let mut client = Client::connect(link, model.decoder.id, ClientOptions::default()).unwrap();
    assert_eq!((client.board.inputs, client.board.latent), (9, 5));
    assert_eq!(client.encode(&input).unwrap(), latent);
    assert_eq!(client.decode(&latent).unwrap(), restored);
    let c = client.counters;
    assert_eq!((c.resent, c.timeouts, c.duplicates, c.boots), (0, 0, 0, 0));
    // HELLO, then requests and replies of at most 1,024 bytes each way
    let [input_bytes, latent_bytes, output_bytes] = client.board.code_bytes;
    let per_request = |a: (usize, usize), b: (usize, usize)| {
        3000usize.div_ceil((1022 / (a.0 * a.1)).min(1022 / (b.0 * b.1)))
    };
    let encodes = per_request((9, input_bytes), (5, latent_bytes));
    let decodes = per_request((5, latent_bytes), (9, output_bytes));
    assert_eq!(c.requests, (1 + encodes + decodes) as u64);
    let stats = client.stats().unwrap();
    assert_eq!(
        (stats.encoded, stats.decoded, stats.crc_errors),
        (3000, 3000, 0)
    );
}

#[test]
fn no_frame_is_lost_duplicated_reordered_or_corrupted_through_each_kind_of_fault() {
    let (model, input, latent, _) = jets(2000);
    let image = image(&model);
    let kinds = Faults::each_kind(1e-3, 1e-4);
    let options = ClientOptions {
        window: 4,
        timeout: Duration::from_millis(10),
        attempts: 20,
        batch: 8,
    };
    for (seed, (kind, faults)) in kinds.into_iter().enumerate() {
        let link = twin(&image, faults, seed as u64);
        let mut client = Client::connect(link, model.decoder.id, options).unwrap();
        assert_eq!(client.encode(&input).unwrap(), latent, "{kind}");
        let c = client.counters;
        assert!(c.resent > 0, "{kind}: {c:?}");
        if kind == "board reset" {
            assert!(c.boots > 0, "{c:?}");
        }
    }
}

#[test]
fn a_silent_board_and_another_model_are_typed_errors() {
    let (model, input, ..) = jets(10);
    let image = image(&model);
    let link = twin(&image, Faults::default(), 3);
    let other = ModelId([0xAB; 16]);
    match Client::connect(link, other, ClientOptions::default()) {
        Err(LinkError::Refused { code, detail, .. }) => {
            assert_eq!(code, ErrorCode::Mismatch);
            assert!(detail.contains("another model"), "{detail}");
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
    // every byte to the board lost after the handshake: the request is sent `attempts` times, then an error
    let link = twin(&image, Faults::default(), 4);
    let options = ClientOptions {
        timeout: Duration::from_millis(5),
        attempts: 3,
        ..ClientOptions::default()
    };
    let mut client = Client::connect(link, ModelId([0; 16]), options).unwrap();
    client.link_mut().injector.faults = Faults {
        drop: 1.0,
        ..Faults::default()
    };
    match client.encode(&input) {
        Err(e @ LinkError::NoAnswer { attempts: 3, .. }) => {
            assert!(e.to_string().contains("stopped answering"), "{e}");
        }
        other => panic!("{other:?}"),
    }
}

/// A board that answers every frame with the same crafted INFO.
struct CraftedBoard {
    inbox: Vec<u8>,
    info: Vec<u8>,
}

impl Link for CraftedBoard {
    fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let mut reader = baler_core::protocol::FrameReader::new();
        for &b in bytes {
            if let Some(Ok(frame)) = reader.push(b) {
                let mut wire = vec![0u8; baler_core::protocol::MAX_WIRE];
                let reply = baler_core::protocol::Frame {
                    command: frame.command | 0x80,
                    seq: frame.seq,
                    payload: &self.info,
                };
                let n = reply.write(&mut wire).unwrap();
                self.inbox.extend(&wire[..n]);
            }
        }
        Ok(())
    }

    fn receive(&mut self, buf: &mut [u8], _: Duration) -> std::io::Result<usize> {
        let n = buf.len().min(self.inbox.len());
        buf[..n].copy_from_slice(&self.inbox[..n]);
        self.inbox.drain(..n);
        Ok(n)
    }
}

#[test]
fn a_board_announcing_no_latent_values_is_a_protocol_error() {
    let info = baler_core::protocol::Info {
        version: baler_core::protocol::VERSION,
        model_id: ModelId([0; 16]),
        inputs: 9,
        latent: 0,
        code_bytes: [2, 2, 2],
        max_payload: 4096,
        engine: 0,
        name: "crafted",
    };
    let mut payload = [0u8; 64];
    let n = info.write(&mut payload).unwrap();
    let board = CraftedBoard {
        inbox: Vec::new(),
        info: payload[..n].to_vec(),
    };
    let mut client = Client::connect(board, ModelId([0; 16]), ClientOptions::default()).unwrap();
    assert!(matches!(
        client.encode(&[0; 9]),
        Err(LinkError::Protocol(_))
    ));
}
