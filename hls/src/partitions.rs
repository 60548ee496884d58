//! How the network function partitions the arrays between its layers: decided here once, for the emitter that
//! writes the pragmas, the estimate that warns about their sizes and `run_hls.tcl` that sizes Vivado HLS's limit.

use crate::cpp::Pragma;
use crate::design::{HlsDesign, IoType, LayerDesign, LayerKind};

/// The partition of an array between two layers (`None` for a layer: the frame pack), decided here only, never
/// also in the layer function. An array a dense layer reads or writes all at once is registers, whatever its size
/// (the estimate warns above [`COMPLETE_LIMIT`]), and so is one the pack is copied from or into in one cycle, up
/// to [`COMPLETE_LIMIT`] values. Other arrays beside a convolution have a bank per channel (a writer's output
/// channels are its reader's input channels).
pub(crate) fn partition_for(
    variable: &str,
    values: usize,
    writer: Option<&LayerDesign>,
    reader: Option<&LayerDesign>,
) -> Option<Pragma> {
    let dense = |l: Option<&LayerDesign>| l.is_some_and(|l| l.kind == LayerKind::Dense);
    let pack = writer.is_none() || reader.is_none();
    if dense(writer) || dense(reader) || (pack && values <= COMPLETE_LIMIT) {
        return Some(Pragma::Partition(variable.into()));
    }
    let channels = match (writer.map(|l| l.kind), reader.map(|l| l.kind)) {
        (Some(LayerKind::Conv(c)), _) => c.output[0],
        (_, Some(LayerKind::Conv(c))) => c.input[0],
        _ => 1,
    };
    (channels > 1).then(|| Pragma::PartitionBlock {
        variable: variable.into(),
        factor: channels,
    })
}

/// Values above which a completely partitioned array is known to slow HLS runs (Vivado HLS refuses more than
/// its `config_array_partition -maximum_size`, 1024 by default: `run_hls.tcl` raises it).
pub(crate) const COMPLETE_LIMIT: usize = 4096;

/// The arrays the network function declares: name, values, writer and reader (`None`: the frame pack).
pub(crate) fn network_arrays(
    d: &HlsDesign,
) -> Vec<(String, usize, Option<&LayerDesign>, Option<&LayerDesign>)> {
    let mut arrays = vec![("x".to_string(), d.inputs, None, d.layers.first())];
    for (k, l) in d.layers.iter().enumerate() {
        arrays.push((
            format!("y{}", k + 1),
            l.outputs,
            Some(l),
            d.layers.get(k + 1),
        ));
    }
    arrays
}

/// The network's arrays that are completely partitioned (every array of io_stream's layer processes), with
/// their sizes.
pub(crate) fn complete_arrays(d: &HlsDesign) -> Vec<(String, usize)> {
    network_arrays(d)
        .into_iter()
        .filter(|(array, values, writer, reader)| {
            d.config.io == IoType::Stream
                || matches!(
                    partition_for(array, *values, *writer, *reader),
                    Some(Pragma::Partition(_))
                )
        })
        .map(|(array, values, _, _)| (array, values))
        .collect()
}
