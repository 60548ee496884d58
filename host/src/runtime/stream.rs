//! Batches in flight: a device runs on its own thread behind a queue of `depth` batches (2 = double buffering),
//! results come back in submission order, and a failure or a silent device is reported for the batch it hit.

use super::{Device, DeviceError, DeviceInfo, SimulatedCycles};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a waiting thread spins before it sleeps: waking a sleeping thread costs about 10 µs, which
/// would dominate small batches.
const SPIN: Duration = Duration::from_micros(50);

/// The next message of `rx`: spins for `SPIN`, then blocks for up to `timeout`.
fn receive_soon<T>(rx: &Receiver<T>, timeout: Duration) -> Result<T, RecvTimeoutError> {
    let spin_until = Instant::now() + SPIN;
    loop {
        match rx.try_recv() {
            Ok(message) => return Ok(message),
            Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
            Err(TryRecvError::Empty) if Instant::now() < spin_until => std::hint::spin_loop(),
            Err(TryRecvError::Empty) => return rx.recv_timeout(timeout),
        }
    }
}

/// What the stream has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StreamCounters {
    /// Batches submitted.
    pub submitted: u64,
    /// Batches received.
    pub received: u64,
    /// Frames received.
    pub frames: u64,
    /// Seconds the device spent running batches.
    pub device_seconds: f64,
}

/// How long one batch took.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchTiming {
    /// From submission to its output being received (queueing included).
    pub latency_seconds: f64,
    /// Inside the device's `run`.
    pub device_seconds: f64,
    /// The hardware cycles a simulating device counted for the batch.
    pub cycles: Option<SimulatedCycles>,
}

struct Done {
    batch: u64,
    frames: usize,
    seconds: f64,
    result: Result<Vec<f64>, DeviceError>,
    cycles: Option<SimulatedCycles>,
}

/// A device on its own thread with batches in flight.
pub struct DeviceStream {
    info: DeviceInfo,
    to_device: Option<SyncSender<(u64, Vec<f64>)>>,
    from_device: Receiver<Done>,
    worker: Option<JoinHandle<()>>,
    timeout: Duration,
    depth: u64,
    timed_out: bool,
    counters: StreamCounters,
    submitted_at: std::collections::VecDeque<Instant>,
}

impl DeviceStream {
    /// Starts `device` with up to `depth` batches queued besides the one it runs; a batch that takes longer
    /// than `timeout` is reported as a silent device.
    pub fn new(mut device: Box<dyn Device>, depth: usize, timeout: Duration) -> Self {
        let info = device.info().clone();
        let (to_device, requests) = sync_channel::<(u64, Vec<f64>)>(depth.max(1));
        let (results, from_device) = sync_channel::<Done>(depth.max(1) + 1);
        let inputs = info.inputs;
        let worker = std::thread::spawn(move || {
            while let Ok((batch, input)) = receive_soon(&requests, Duration::MAX) {
                let start = Instant::now();
                let result = device.run(&input);
                let done = Done {
                    batch,
                    frames: input.len() / inputs,
                    seconds: start.elapsed().as_secs_f64(),
                    result,
                    cycles: device.cycles(),
                };
                let failed = done.result.is_err();
                if results.send(done).is_err() || failed {
                    break;
                }
            }
        });
        DeviceStream {
            info,
            to_device: Some(to_device),
            from_device,
            worker: Some(worker),
            timeout,
            depth: depth.max(1) as u64,
            timed_out: false,
            counters: StreamCounters::default(),
            submitted_at: Default::default(),
        }
    }

    /// The device's description.
    pub fn info(&self) -> &DeviceInfo {
        &self.info
    }

    /// What the stream has done.
    pub fn counters(&self) -> StreamCounters {
        self.counters
    }

    /// Batches submitted and not yet received.
    pub fn in_flight(&self) -> u64 {
        self.counters.submitted - self.counters.received
    }

    fn error(&self, message: String) -> DeviceError {
        DeviceError {
            device: self.info.name.clone(),
            message,
        }
    }

    /// Queues a batch of whole frames (blocks while the queue is full); returns its number.
    pub fn submit(&mut self, input: Vec<f64>) -> Result<u64, DeviceError> {
        if input.is_empty() {
            return Err(self.error("an empty batch".into()));
        }
        super::whole_frames(&self.info, &input)?;
        let batch = self.counters.submitted;
        let sent = self
            .to_device
            .as_ref()
            .is_some_and(|to| to.send((batch, input)).is_ok());
        if !sent {
            return Err(self.error(format!("stopped; batch {batch} was not accepted")));
        }
        self.counters.submitted += 1;
        self.submitted_at.push_back(Instant::now());
        Ok(batch)
    }

    /// The output of the oldest batch in flight, checked for order and length.
    pub fn receive(&mut self) -> Result<Vec<f64>, DeviceError> {
        self.receive_timed().map(|(output, _)| output)
    }

    /// As [`Self::receive`], with the batch's timing.
    pub fn receive_timed(&mut self) -> Result<(Vec<f64>, BatchTiming), DeviceError> {
        let expected = self.counters.received;
        if expected == self.counters.submitted {
            return Err(self.error("no batch in flight".into()));
        }
        let done = match receive_soon(&self.from_device, self.timeout) {
            Ok(done) => done,
            Err(RecvTimeoutError::Timeout) => {
                self.timed_out = true;
                return Err(self.error(format!(
                    "no answer for batch {expected} within {:.1} s ({} batches in flight)",
                    self.timeout.as_secs_f64(),
                    self.in_flight()
                )));
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(self.error(format!(
                    "stopped with batch {expected} in flight ({} batches in flight)",
                    self.in_flight()
                )));
            }
        };
        self.counters.received += 1;
        let submitted = self
            .submitted_at
            .pop_front()
            .expect("one instant per submitted batch");
        let timing = BatchTiming {
            latency_seconds: submitted.elapsed().as_secs_f64(),
            device_seconds: done.seconds,
            cycles: done.cycles,
        };
        if done.batch != expected {
            return Err(self.error(format!(
                "returned batch {} when batch {expected} was due",
                done.batch
            )));
        }
        let output = done
            .result
            .map_err(|e| self.error(format!("batch {expected}: {}", e.message)))?;
        if output.len() != done.frames * self.info.outputs {
            return Err(self.error(format!(
                "batch {expected}: {} output values for {} frames of {} (a short or long buffer)",
                output.len(),
                done.frames,
                self.info.outputs
            )));
        }
        self.counters.frames += done.frames as u64;
        self.counters.device_seconds += done.seconds;
        Ok((output, timing))
    }

    /// Runs all frames of `input` in batches of `batch_frames`, `depth` of them in flight; returns the outputs
    /// in order.
    pub fn run_all(&mut self, input: &[f64], batch_frames: usize) -> Result<Vec<f64>, DeviceError> {
        let chunk = batch_frames.max(1) * self.info.inputs;
        let mut output = Vec::with_capacity(input.len() / self.info.inputs * self.info.outputs);
        for batch in input.chunks(chunk) {
            if self.in_flight() >= self.depth {
                output.extend(self.receive()?);
            }
            self.submit(batch.to_vec())?;
        }
        while self.in_flight() > 0 {
            output.extend(self.receive()?);
        }
        Ok(output)
    }
}

impl Drop for DeviceStream {
    fn drop(&mut self) {
        // closing both channels ends the worker after its current batch; a device that stopped answering is
        // left to its thread rather than waited for
        self.to_device.take();
        drop(std::mem::replace(&mut self.from_device, sync_channel(0).1));
        if let Some(worker) = self.worker.take()
            && !self.timed_out
        {
            let _ = worker.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Doubles every value; fails on batch `fail_at`, stalls on `stall_at`, drops a value on `short_at`.
    struct TestDevice {
        info: DeviceInfo,
        batch: u64,
        fail_at: Option<u64>,
        stall_at: Option<u64>,
        short_at: Option<u64>,
    }

    fn device(
        fail_at: Option<u64>,
        stall_at: Option<u64>,
        short_at: Option<u64>,
    ) -> Box<dyn Device> {
        let info = DeviceInfo {
            name: "test".into(),
            detail: String::new(),
            model_id: None,
            inputs: 2,
            outputs: 2,
        };
        Box::new(TestDevice {
            info,
            batch: 0,
            fail_at,
            stall_at,
            short_at,
        })
    }

    impl Device for TestDevice {
        fn info(&self) -> &DeviceInfo {
            &self.info
        }

        fn run(&mut self, input: &[f64]) -> Result<Vec<f64>, DeviceError> {
            let batch = self.batch;
            self.batch += 1;
            if Some(batch) == self.fail_at {
                return Err(self.error("the card reported an error"));
            }
            if Some(batch) == self.stall_at {
                std::thread::sleep(Duration::from_millis(500));
            }
            let mut out: Vec<f64> = input.iter().map(|v| v * 2.0).collect();
            if Some(batch) == self.short_at {
                out.pop();
            }
            Ok(out)
        }
    }

    fn frames(n: usize) -> Vec<f64> {
        (0..n * 2).map(|v| v as f64).collect()
    }

    #[test]
    fn batches_come_back_in_order_with_two_in_flight() {
        let mut stream = DeviceStream::new(device(None, None, None), 2, Duration::from_secs(10));
        let input = frames(1000);
        let output = stream.run_all(&input, 7).unwrap();
        assert_eq!(output, input.iter().map(|v| v * 2.0).collect::<Vec<_>>());
        let c = stream.counters();
        assert_eq!((c.submitted, c.received, c.frames), (143, 143, 1000));
    }

    #[test]
    fn a_failure_names_the_batch_and_the_batches_behind_it_are_reported() {
        // batch 0 stalls so that batches 1 and 2 are queued when 1 fails
        let mut stream =
            DeviceStream::new(device(Some(1), Some(0), None), 2, Duration::from_secs(10));
        for _ in 0..3 {
            stream.submit(frames(4)).unwrap();
        }
        assert!(stream.receive().is_ok());
        let e = stream.receive().unwrap_err().to_string();
        assert_eq!(e, "device test: batch 1: the card reported an error");
        let e = stream.receive().unwrap_err().to_string();
        assert_eq!(
            e,
            "device test: stopped with batch 2 in flight (1 batches in flight)"
        );
    }

    #[test]
    fn silence_and_short_buffers_are_errors() {
        let mut stream =
            DeviceStream::new(device(None, Some(0), None), 2, Duration::from_millis(50));
        stream.submit(frames(1)).unwrap();
        let e = stream.receive().unwrap_err().to_string();
        assert!(
            e.starts_with("device test: no answer for batch 0 within 0.1 s"),
            "{e}"
        );

        let mut stream = DeviceStream::new(device(None, None, Some(0)), 2, Duration::from_secs(10));
        stream.submit(frames(3)).unwrap();
        let e = stream.receive().unwrap_err().to_string();
        assert_eq!(
            e,
            "device test: batch 0: 5 output values for 3 frames of 2 (a short or long buffer)"
        );
        assert!(
            stream.submit(vec![1.0; 3]).is_err(),
            "half a frame is refused"
        );
    }
}
