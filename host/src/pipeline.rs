//! Chunks through workers in parallel and out in order, with a bounded number in flight: what compression and
//! decompression of files larger than memory run on.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::sync::{Mutex, mpsc};

/// Takes items from `next` (called on one thread, in order, until it gives `None`), runs `work` on them on
/// `workers` threads (each with its own state from `init`, made on that thread), and hands the results to `sink`
/// in the order of the items. At most 2 × `workers` items are in flight, so memory is bounded by the items' size.
/// The first error (from any of the three) stops the pipeline and is returned.
pub fn ordered<T, U, S>(
    workers: usize,
    next: impl FnMut() -> Result<Option<T>> + Send,
    init: impl Fn() -> Result<S> + Sync,
    work: impl Fn(&mut S, T) -> Result<U> + Sync,
    mut sink: impl FnMut(U) -> Result<()>,
) -> Result<()>
where
    T: Send,
    U: Send,
{
    let workers = workers.max(1);
    let in_flight = 2 * workers;
    let (permit_tx, permit_rx) = mpsc::sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        permit_tx.send(()).expect("the receiver is alive");
    }
    let (job_tx, job_rx) = mpsc::sync_channel::<(usize, T)>(workers);
    let job_rx = Mutex::new(Some(job_rx));
    let (result_tx, result_rx) = mpsc::sync_channel::<(usize, Result<U>)>(in_flight);
    std::thread::scope(|scope| {
        let feeder_results = result_tx.clone();
        let mut next = next;
        scope.spawn(move || {
            for index in 0.. {
                // a permit per item: the sink returns it once the item's result is consumed
                if permit_rx.recv().is_err() {
                    return;
                }
                match next() {
                    Ok(Some(item)) => {
                        if job_tx.send((index, item)).is_err() {
                            return;
                        }
                    }
                    Ok(None) => return,
                    Err(e) => {
                        let _ = feeder_results.send((index, Err(e)));
                        return;
                    }
                }
            }
        });
        for _ in 0..workers {
            let (job_rx, result_tx, init, work) = (&job_rx, result_tx.clone(), &init, &work);
            scope.spawn(move || {
                let mut state = match init() {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = result_tx.send((0, Err(e)));
                        return;
                    }
                };
                loop {
                    let job = match &*job_rx.lock().expect("no worker panics") {
                        Some(jobs) => jobs.recv(),
                        None => return,
                    };
                    let Ok((index, item)) = job else { return };
                    if result_tx.send((index, work(&mut state, item))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(result_tx);
        let mut waiting = BTreeMap::new();
        let mut wanted = 0;
        let outcome = (|| {
            for (index, result) in &result_rx {
                // an error is returned at once, whatever its place
                waiting.insert(index, result?);
                while let Some(result) = waiting.remove(&wanted) {
                    sink(result)?;
                    wanted += 1;
                    let _ = permit_tx.send(());
                }
            }
            Ok::<(), Error>(())
        })();
        // closing the channels stops the feeder and the workers
        drop(permit_tx);
        drop(result_rx);
        job_rx.lock().expect("no worker panics").take();
        outcome
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_order_of_the_items() {
        for workers in [1, 2, 5] {
            let mut items = 0..200u64;
            let mut seen = Vec::new();
            ordered(
                workers,
                || Ok(items.next()),
                || Ok(0u64),
                |count, i| {
                    *count += 1;
                    // later items finish sooner, so results arrive out of order
                    std::thread::sleep(std::time::Duration::from_micros(200 - i));
                    Ok(i * i)
                },
                |r| {
                    seen.push(r);
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(seen, (0..200u64).map(|i| i * i).collect::<Vec<_>>());
        }
    }

    #[test]
    fn the_first_error_stops_the_pipeline() {
        let mut items = 0..u64::MAX;
        let mut sunk = 0;
        let error = ordered(
            3,
            || Ok(items.next()),
            || Ok(()),
            |_, i| match i {
                50 => Err(Error::Mismatch("item 50".into())),
                i => Ok(i),
            },
            |_| {
                sunk += 1;
                Ok(())
            },
        )
        .unwrap_err();
        assert!(error.to_string().contains("item 50"), "{error}");
        assert!(sunk <= 50);
        // an error from the source or the sink is returned too
        let mut items = 0..10u64;
        let from_source = ordered(
            2,
            || match items.next() {
                Some(5) => Err(Error::Mismatch("source at 5".into())),
                i => Ok(i),
            },
            || Ok(()),
            |_, i| Ok(i),
            |_| Ok(()),
        );
        assert!(from_source.unwrap_err().to_string().contains("source at 5"));
        let mut items = 0..10u64;
        let from_sink = ordered(
            2,
            || Ok(items.next()),
            || Ok(()),
            |_, i| Ok(i),
            |i| match i {
                7 => Err(Error::Mismatch("sink at 7".into())),
                _ => Ok(()),
            },
        );
        assert!(from_sink.unwrap_err().to_string().contains("sink at 7"));
    }
}
