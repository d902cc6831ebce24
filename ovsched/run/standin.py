"""Stand-in OpenVINO models with random weights.

``build_googlenet`` mirrors TF-slim's InceptionV1 (the ``googlenet-v1-tf``
Open Model Zoo model) closely enough to have the same interface, size and
cost; ``build_tiny`` is a cheap network with the same interface for tests.
"""

import os
import shutil
import tempfile

import numpy as np
import openvino as ov

try:
    import openvino.opset13 as ops
except ImportError:  # OpenVINO 2024.x only exposes opsets under runtime
    import openvino.runtime.opset13 as ops

INPUT_NAME = "input"
# Both models share the output name so callers can treat them alike.
OUTPUT_NAME = "InceptionV1/Logits/Predictions/Softmax"

# Inception modules as in TF-slim: (1x1, 3x3 reduce, 3x3, "5x5" reduce,
# "5x5", pool proj). Slim uses a 3x3 kernel in the "5x5" branch; keeping
# that gives its parameter count (~6.6 M) rather than the paper's.
_MODULES = {
    "Mixed_3b": (64, 96, 128, 16, 32, 32),
    "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64),
    "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64),
    "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128),
    "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}


class _Builder:
    """Creates layers on NCHW tensor outputs with seeded random weights."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def conv(self, x, out_ch, k, stride=1, relu=True, gain=2.0, name=None):
        in_ch = x.get_partial_shape()[1].get_length()
        # He init keeps activations at a steady scale through the ReLUs.
        std = np.float32(np.sqrt(gain / (in_ch * k * k)))
        w = self.rng.standard_normal((out_ch, in_ch, k, k), dtype=np.float32)
        b = self.rng.standard_normal((1, out_ch, 1, 1), dtype=np.float32)
        y = ops.convolution(x, ops.constant(w * std), [stride, stride],
                            [0, 0], [0, 0], [1, 1], auto_pad="same_upper")
        y = ops.add(y, ops.constant(b * np.float32(0.01)))
        if relu:
            y = ops.relu(y)
        if name:
            y.set_friendly_name(name)
        return y.output(0)


def _max_pool(x, k, stride):
    return ops.max_pool(x, [stride, stride], [1, 1], [0, 0], [0, 0], [k, k],
                        auto_pad="same_upper").output(0)


def _input(hw):
    # Batch 1 is only the declared shape; nothing below depends on it, so
    # the model can be reshaped or re-batched by the BATCH device.
    param = ops.parameter([1, hw, hw, 3], ov.Type.f32, name=INPUT_NAME)
    param.output(0).get_tensor().set_names({INPUT_NAME})
    param.set_layout(ov.Layout("NHWC"))
    nchw = ops.transpose(param, ops.constant(np.array([0, 3, 1, 2])))
    return param, nchw.output(0)


def _head(b, x, classes):
    x = ops.reduce_mean(x, ops.constant(np.array([2, 3])), keep_dims=True)
    x = x.output(0)
    x = b.conv(x, classes, 1, relu=False, gain=1.0, name="Logits")
    # Squeeze by axes, not Reshape to a constant, to leave the batch free.
    x = ops.squeeze(x, ops.constant(np.array([2, 3])))
    out = ops.softmax(x, 1)
    out.set_friendly_name(OUTPUT_NAME)
    out.output(0).get_tensor().set_names({OUTPUT_NAME})
    return out


def _finish(param, out, name):
    return ov.Model([out.output(0)], [param], name)


def build_googlenet(seed: int = 0) -> ov.Model:
    """Inception-v1 (TF-slim layout), input [1,224,224,3] NHWC, 1001 classes."""
    b = _Builder(seed)
    param, x = _input(224)
    x = b.conv(x, 64, 7, stride=2, name="Conv2d_1a_7x7")
    x = _max_pool(x, 3, 2)
    x = b.conv(x, 64, 1, name="Conv2d_2b_1x1")
    x = b.conv(x, 192, 3, name="Conv2d_2c_3x3")
    x = _max_pool(x, 3, 2)
    for name, (c1, r3, c3, r5, c5, cp) in _MODULES.items():
        if name == "Mixed_4b":
            x = _max_pool(x, 3, 2)
        elif name == "Mixed_5b":
            x = _max_pool(x, 2, 2)
        branches = [
            b.conv(x, c1, 1),
            b.conv(b.conv(x, r3, 1), c3, 3),
            b.conv(b.conv(x, r5, 1), c5, 3),
            b.conv(_max_pool(x, 3, 1), cp, 1),
        ]
        concat = ops.concat(branches, 1)
        concat.set_friendly_name(name)
        x = concat.output(0)
    return _finish(param, _head(b, x, 1001), "googlenet-v1-standin")


def build_tiny(seed: int = 0) -> ov.Model:
    """Small test network, input [1,16,16,3] NHWC, 10 classes."""
    b = _Builder(seed)
    param, x = _input(16)
    x = b.conv(x, 8, 3)
    x = b.conv(x, 16, 3, stride=2)
    return _finish(param, _head(b, x, 10), "tiny-standin")


def count_parameters(model: ov.Model) -> int:
    """Number of weights: elements of all floating-point Constants."""
    total = 0
    for op in model.get_ops():
        if op.get_type_name() == "Constant" and \
                op.get_output_element_type(0).is_real():
            total += int(np.prod(list(op.get_output_shape(0)), dtype=np.int64))
    return total


def save_fp16(model: ov.Model, xml_path) -> str:
    """Save as IR with FP16 weights; return the path of the xml that holds the model.

    The IR is built in a folder beside ``xml_path`` and moved into place, so xml and bin
    appear only when complete. Windows refuses to replace a ``.bin`` that another process
    has mapped (another script running on the stand-in): then an existing complete pair is
    kept, since the stand-in is built from a fixed seed and so is the same model. Only when
    there is no complete old pair is the new one used where it was built, in a folder
    named ``.built-*`` beside ``xml_path``, whose xml is returned."""
    xml_path = os.fspath(xml_path)
    parent = os.path.dirname(os.path.abspath(xml_path))
    os.makedirs(parent, exist_ok=True)
    bin_path = os.path.splitext(xml_path)[0] + ".bin"
    # Same folder, so the renames are atomic.
    tmp = tempfile.mkdtemp(prefix=".save-", dir=parent)
    keep_tmp = False
    try:
        tmp_xml = os.path.join(tmp, "model.xml")
        ov.save_model(model, tmp_xml, compress_to_fp16=True)
        try:
            # The bin goes first: a reader finding the new xml then finds its bin.
            os.replace(os.path.join(tmp, "model.bin"), bin_path)
            os.replace(tmp_xml, xml_path)
        except PermissionError:
            if os.path.isfile(xml_path) and os.path.isfile(bin_path):
                return xml_path
            if not os.path.exists(os.path.join(tmp, "model.bin")):
                raise  # the new bin is in place already and the xml cannot be written
            built = tempfile.mkdtemp(prefix=".built-", dir=parent)
            os.rmdir(built)
            os.replace(tmp, built)
            keep_tmp = True
            return os.path.join(built, "model.xml")
        return xml_path
    finally:
        if not keep_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
