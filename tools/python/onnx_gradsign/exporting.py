"""Training-mode ONNX export of PyTorch modules, checked for the normalization layers GradSign depends on."""
import os
import warnings


def export(module, example_input, path, opset=17, input_names=("input",), output_names=("logits",)):
    """Write `module` to `path` as ONNX in training mode (BatchNorm kept, weights unfolded), with a dynamic batch axis.

    `example_input` is a tensor or a tuple of tensors (use a batch of at least 2: BatchNorm1d cannot trace a batch of one in
    training mode). Training-mode tracing runs a forward that updates BatchNorm running statistics and consumes random numbers
    (Dropout): the module's state dict, every submodule's training flag and torch's CPU random state are restored afterwards.
    Raises ValueError when the file has fewer normalization nodes than the module has normalization layers. Returns `path`.
    """
    import torch

    state = {name: tensor.detach().clone() for name, tensor in module.state_dict().items()}
    modes = {submodule: submodule.training for submodule in module.modules()}
    names = [*input_names, *output_names]
    try:
        with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
            # Expected noise: "removing mutation of num_batches_tracked", "training mode at opset < 12".
            warnings.simplefilter("ignore", UserWarning)
            torch.onnx.export(
                module, example_input, os.fspath(path),
                opset_version=opset,
                training=torch.onnx.TrainingMode.TRAINING,
                do_constant_folding=False,
                input_names=list(input_names),
                output_names=list(output_names),
                dynamic_axes={name: {0: "batch"} for name in names},
            )
    finally:
        module.load_state_dict(state)
        for submodule, training in modes.items():
            submodule.training = training
    check_normalization(module, path)
    return path


def check_normalization(module, path):
    """Raise ValueError if the ONNX file at `path` has fewer BatchNormalization (InstanceNormalization, and from opset 17
    LayerNormalization) nodes than `module` has such layers: an eval-mode export folds BatchNorm into the convolutions."""
    import onnx
    from torch import nn

    # (layer label, torch class, ONNX op, lowest opset at which the exporter keeps the layer as that one node)
    kinds = (
        ("BatchNorm", nn.modules.batchnorm._BatchNorm, "BatchNormalization", 1),
        ("InstanceNorm", nn.modules.instancenorm._InstanceNorm, "InstanceNormalization", 1),
        ("LayerNorm", nn.LayerNorm, "LayerNormalization", 17),
    )
    model = onnx.load(os.fspath(path))
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    ops = [node.op_type for node in model.graph.node]
    for label, kind, op_type, since in kinds:
        layers = sum(isinstance(m, kind) for m in module.modules())
        if opset >= since and ops.count(op_type) < layers:
            raise ValueError(
                f"{path}: {ops.count(op_type)} {op_type} node(s) for the module's {layers} {label} layer(s): the export "
                "folded or lost them (export in training mode, as onnx_gradsign.export does)")
