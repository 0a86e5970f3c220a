#!/usr/bin/python3
"""Hostile-input fuzz suite for the onnx-gradsign CLI: broken, malicious and resource-exhausting models, data files and paths.

    /usr/bin/python3 tools/fuzz/hostile.py generate DIR [--sample N --seed S]
    /usr/bin/python3 tools/fuzz/hostile.py run DIR --cli PATH [--timeout 60 --max-rss-mib 3000] [--report FILE.jsonl]
    /usr/bin/python3 tools/fuzz/hostile.py list

`generate` writes one folder per case into DIR: the model (and data), and `case.json` with its metadata (class, family,
description, must_refuse, which commands apply, the path to pass). It also writes the secret files the leak cases try to
read (`DIR/secret.bin`, `DIR/_outside/secret.bin`), outside every case folder. `--sample N --seed S` writes a seeded sample
that always holds at least one case of every class and every family (so `--sample 0` is the smallest such cover), plus
random others up to N; without it every case is written. Generation stays small in memory: the compression bombs are
written block by block, the 2 GB model is a sparse file.

`run` runs every case through `inspect`, `verify`, `score` (those its metadata names) and all of them through one
`serve --stdio` process, one CLI process at a time, each polled every 50 ms for its resident memory (the process and its
children, from /proc/PID/status) and killed past --max-rss-mib or --timeout. A (case, command) PASSes when it
  (a) exits 0 with a sound result (JSON that parses; for score every record is `ok` with a finite score or an error
      record), or
  (b) exits 1 or 2 with a clear message: a name of the case's file appears in stderr or in the JSON error texts, and
      nothing looks like a crash (no .NET stack-trace line "   at ...", "Unhandled exception", "terminate called",
      "Segmentation", "Aborted").
It FAILs on a crash (another exit code, a signal), a hang (timeout), memory (peak RSS over the limit), a leak (a case
that reads the secret outside the model's folder exits 0, or the secret shows in the output), "silently scored" (a
must_refuse case exits 0), "refused a valid input" (a control case does not exit 0), or an unsound exit-0 result.
serve: every request must get an answer (ok true with records, or ok false with an error) and the server must still
answer a final {"op": "health"}. A summary table per class is printed; the exit code is 1 when anything FAILed.

Only Debian's python3 packages are needed (numpy, onnx for building protos; no onnx.checker, which would refuse most
cases).
"""
import argparse
import gzip
import json
import math
import os
import queue
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tools/
import protobuf_wire  # noqa: E402

CLASSES = ("control", "crash", "hang", "memory", "silent", "leak")
REPORT_CLASSES = CLASSES + ("serve",)  # serve: the protocol probes, final health and exit of the serve run
MODEL_COMMANDS = ("inspect", "verify", "score", "serve")
DATA_COMMANDS = ("score", "serve")
RUNTIME_REFUSE = ("verify", "score", "serve")  # refusals only a run can find (shapes, values): inspect may pass them
SECRET = b"XYZZY-SECRET-42!"  # 16 bytes: the 4-float bias the leak cases point outside the model folder
SECRET_MARK = "XYZZY"

# --------------------------------------------------------------------------------------------------------------------
# protobuf wire helpers (raw bytes, for files the onnx package cannot or will not write)


def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wire):
    return varint(field << 3 | wire)


def ld(field, payload):
    """A length-delimited field."""
    return key(field, 2) + varint(len(payload)) + payload


def vi(field, value):
    return key(field, 0) + varint(value)


# --------------------------------------------------------------------------------------------------------------------
# the base model: Conv -> Relu -> GlobalAveragePool -> Flatten -> Gemm on x [N,3,8,8], opset 13, 10 classes


def _onnx():
    import onnx  # noqa: imported lazily so `run` needs no onnx
    return onnx


class Parts:
    """A mutable description of a model, built into a ModelProto by build()."""

    def __init__(self):
        onnx = _onnx()
        from onnx import helper, numpy_helper, TensorProto
        rng = np.random.default_rng(0)
        self.nodes = [
            helper.make_node("Conv", ["x", "W", "B"], ["c"], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c"], ["r"], name="relu1"),
            helper.make_node("GlobalAveragePool", ["r"], ["p"], name="gap"),
            helper.make_node("Flatten", ["p"], ["f"], name="flatten", axis=1),
            helper.make_node("Gemm", ["f", "W2", "B2"], ["y"], name="fc", transB=1),
        ]
        self.inits = [
            numpy_helper.from_array((rng.standard_normal((4, 3, 3, 3)) * 0.2).astype(np.float32), "W"),
            numpy_helper.from_array(np.zeros(4, np.float32) + 0.01, "B"),
            numpy_helper.from_array((rng.standard_normal((10, 4)) * 0.3).astype(np.float32), "W2"),
            numpy_helper.from_array(np.zeros(10, np.float32), "B2"),
        ]
        self.inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])]
        self.outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])]
        self.opsets = [("", 13)]
        self.ir = 8
        self.functions = []
        self.onnx = onnx

    def init(self, name):
        return next(t for t in self.inits if t.name == name)

    def node(self, name):
        return next(n for n in self.nodes if n.name == name)

    def set_init(self, tensor):
        self.inits = [tensor if t.name == tensor.name else t for t in self.inits]

    def splice(self, after, new_nodes, out):
        """Insert new_nodes after the producer of `after`; former consumers of `after` read `out` instead."""
        for n in self.nodes:
            for i, name in enumerate(n.input):
                if name == after:
                    n.input[i] = out
        at = next(i for i, n in enumerate(self.nodes) if after in n.output) + 1
        self.nodes[at:at] = new_nodes

    def build(self):
        from onnx import helper
        graph = helper.make_graph(self.nodes, "g", self.inputs, self.outputs, initializer=self.inits)
        model = helper.make_model(graph, producer_name="onnx-gradsign-fuzz",
                                  opset_imports=[helper.make_opsetid(d, v) for d, v in self.opsets])
        if not self.opsets:
            model.ClearField("opset_import")
        model.ir_version = self.ir
        model.functions.extend(self.functions)
        return model


def tensor(name, dims, data_type=1, raw=None, floats=None, **fields):
    t = _onnx().TensorProto(name=name, data_type=data_type)
    t.dims.extend(dims)
    if raw is not None:
        t.raw_data = raw
    if floats is not None:
        t.float_data.extend(floats)
    for k, v in fields.items():
        getattr(t, k).extend(v) if isinstance(v, list) else setattr(t, k, v)
    return t


def ints_init(name, values):
    from onnx import numpy_helper
    return numpy_helper.from_array(np.array(values, np.int64), name)


def floats_init(name, values):
    from onnx import numpy_helper
    return numpy_helper.from_array(np.array(values, np.float32), name)


def node(op, inputs, outputs, name, domain="", **attrs):
    from onnx import helper
    return helper.make_node(op, inputs, outputs, name=name, domain=domain, **attrs)


def write_model(path, model):
    Path(path).write_bytes(model if isinstance(model, bytes) else model.SerializeToString())


def base_bytes():
    return Parts().build().SerializeToString()


def sample_data(n=16, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 3, 8, 8)).astype(np.float32), rng.integers(0, 10, n).astype(np.int64)


def write_npz(path, **arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def npy_bytes(header, payload=b"", version=(1, 0), magic=b"\x93NUMPY", header_len=None):
    """A .npy file with a literal header string (which may be garbage)."""
    h = header.encode("latin1")
    width = 2 if version[0] == 1 else 4
    pad = (64 - (len(magic) + 2 + width + len(h) + 1) % 64) % 64
    h = h + b" " * pad + b"\n"
    length = len(h) if header_len is None else header_len
    return magic + bytes(version) + (struct.pack("<H", length) if width == 2 else struct.pack("<I", length)) + h + payload


def npz_with(path, entries):
    """A zip (stored) holding the given name -> bytes entries."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, data in entries.items():
            z.writestr(name, data)


def y_npy(n=16):
    return npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (%d,), }" % n, (np.arange(n) % 10).astype("<i8").tobytes())


def idx_bytes(dims, payload=b"", type_byte=0x08, rank=None):
    rank = len(dims) if rank is None else rank
    return bytes([0, 0, type_byte, rank & 0xFF]) + b"".join(struct.pack(">I", d & 0xFFFFFFFF) for d in dims) + payload


def write_idx_pair(folder, images=None, labels=None, n=16):
    rng = np.random.default_rng(2)
    if images is None:
        images = idx_bytes([n, 8, 8], rng.integers(0, 256, n * 64).astype(np.uint8).tobytes())
    if labels is None:
        labels = idx_bytes([n], (np.arange(n) % 10).astype(np.uint8).tobytes())
    (folder / "images.idx").write_bytes(images)
    (folder / "labels.idx").write_bytes(labels)


# ---- compression bombs, written block by block so the generator stays small ----

ZERO_BLOCK = 1 << 24


def _deflate_zeros(prefix, total_zeros):
    """Yield a raw deflate stream of prefix + total_zeros zero bytes; also returns (crc32, size) via the last item."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    yield c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    zeros = bytes(ZERO_BLOCK)
    full, rest = divmod(total_zeros, ZERO_BLOCK)
    if full:
        first = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
        second = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
        yield first
        if full > 1:
            yield second
        if full > 2:
            assert first == second  # after a full flush the same input compresses to the same bytes
            for _ in range(full - 2):
                yield second
    yield c.compress(bytes(rest)) + c.flush(zlib.Z_FINISH)


def _crc_zeros(prefix, total_zeros):
    crc = zlib.crc32(prefix)
    zeros = bytes(ZERO_BLOCK)
    full, rest = divmod(total_zeros, ZERO_BLOCK)
    for _ in range(full):
        crc = zlib.crc32(zeros, crc)
    return zlib.crc32(bytes(rest), crc)


def write_zip_bomb(path, entries, lie_size=None):
    """A zip of deflated entries, each (name, prefix bytes, zero count) or (name, data). Zip64 when sizes need it.
    lie_size: the uncompressed size the headers claim for the bombs (the truth otherwise)."""
    out = open(path, "wb")
    central = []
    for entry in entries:
        name = entry[0].encode()
        if len(entry) == 2:
            data = entry[1]
            blocks, crc, usize = [zlib.compress(data, 9)[2:-4]], zlib.crc32(data), len(data)
            claimed = usize
        else:
            _, prefix, zeros = entry
            blocks, crc, usize = _deflate_zeros(prefix, zeros), _crc_zeros(prefix, zeros), len(prefix) + zeros
            claimed = usize if lie_size is None else lie_size
        offset = out.tell()
        extra = struct.pack("<HHQQ", 1, 16, claimed, 0)
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 8, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                              len(name), len(extra)))
        out.write(name)
        csize_pos = out.tell() + 12
        out.write(extra)
        start = out.tell()
        for b in blocks:
            out.write(b)
        csize = out.tell() - start
        end = out.tell()
        out.seek(csize_pos)
        out.write(struct.pack("<Q", csize))
        out.seek(end)
        central.append((name, crc, csize, claimed, offset))
    cd_start = out.tell()
    for name, crc, csize, usize, offset in central:
        extra = struct.pack("<HHQQQ", 1, 24, usize, csize, offset)
        out.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 8, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                              len(name), len(extra), 0, 0, 0, 0, 0xFFFFFFFF))
        out.write(name)
        out.write(extra)
    cd_end = out.tell()
    out.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(central), len(central),
                          cd_end - cd_start, cd_start))
    out.write(struct.pack("<IIQI", 0x07064B50, 0, cd_end, 1))
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), 0xFFFFFFFF, 0xFFFFFFFF, 0))
    out.close()


def write_gzip_bomb(path, prefix, zeros):
    with open(path, "wb") as out:
        out.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff")
        for b in _deflate_zeros(prefix, zeros):
            out.write(b)
        out.write(struct.pack("<II", _crc_zeros(prefix, zeros), (len(prefix) + zeros) & 0xFFFFFFFF))


# --------------------------------------------------------------------------------------------------------------------
# the cases

CASES = {}


def case(name, cls, family, description, *, must_refuse=False, refuse_in=None, must_accept=False, accept_in=None,
         commands=MODEL_COMMANDS, **meta):
    """Register a case builder: fn(folder: Path, root: Path) -> dict of metadata overrides (or None)."""
    assert cls in CLASSES, cls
    if must_refuse and refuse_in is None:
        refuse_in = commands
    if must_accept and accept_in is None:
        accept_in = commands

    def register(fn):
        assert name not in CASES, name
        CASES[name] = dict(name=name, cls=cls, family=family, description=description, must_refuse=must_refuse,
                           refuse_in=list(refuse_in or ()), must_accept=must_accept, accept_in=list(accept_in or ()),
                           commands=list(commands),
                           build=fn, meta=meta)
        return fn
    return register


def model_case(name, cls, family, description, mutate, **kw):
    """A case whose model is Parts() changed by mutate(parts) (returning a ModelProto or bytes to write instead)."""
    def build(folder, root):
        p = Parts()
        result = mutate(p)
        write_model(folder / "model.onnx", result if result is not None else p.build())
    case(name, cls, family, description, **kw)(build)


# ---- controls: valid inputs that must be scored (they check the harness itself) ----

@case("control_base", "control", "control", "the valid base classifier with a matching .npz", must_accept=True)
def _(folder, root):
    write_model(folder / "model.onnx", Parts().build())
    x, y = sample_data()
    write_npz(folder / "data.npz", x=x, y=y)
    return dict(data="{d}data.npz")


@case("control_idx", "control", "control", "the base model on plain IDX images/labels (grey, replicated to 3 channels)",
      must_accept=True, commands=DATA_COMMANDS)
def _(folder, root):
    write_model(folder / "model.onnx", Parts().build())
    write_idx_pair(folder)
    return dict(data="idx:{d}images.idx,{d}labels.idx")


@case("control_negative_pads_crop", "control", "op-semantics", "Pad with negative pads that crop 8x8 to 6x6 (legal ONNX)",
      must_accept=True)
def _(folder, root):
    p = Parts()
    p.inits.append(ints_init("pads", [0, 0, -1, -1, 0, 0, -1, -1]))
    p.splice("r", [node("Pad", ["r", "pads"], ["padded"], "pad1")], "padded")
    write_model(folder / "model.onnx", p.build())


# ---- Conv attributes and weights ----

def _conv_weight(out_channels):
    def mutate(p):
        from onnx import numpy_helper
        p.set_init(numpy_helper.from_array(np.zeros((out_channels, 3, 3, 3), np.float32), "W"))
        p.set_init(numpy_helper.from_array(np.zeros(out_channels, np.float32), "B"))
        p.set_init(numpy_helper.from_array(np.zeros((10, out_channels), np.float32), "W2"))
    return mutate


model_case("conv_zero_out_channels", "crash", "conv", "Conv weight [0,3,3,3] (no output channels), consistent downstream",
           _conv_weight(0), must_refuse=True)


def _kernel_shape(value=None, attr=None):
    def mutate(p):
        from onnx import helper
        conv = p.node("conv1")
        del conv.attribute[:]
        conv.attribute.append(attr if attr is not None else helper.make_attribute("kernel_shape", value))
        conv.attribute.append(helper.make_attribute("pads", [1, 1, 1, 1]))
    return mutate


def _attr(name, type_, **fields):
    a = _onnx().AttributeProto(name=name, type=type_)
    for k, v in fields.items():
        getattr(a, k).extend(v) if isinstance(v, list) else setattr(a, k, v)
    return a


model_case("kernel_shape_zero", "silent", "conv", "Conv kernel_shape [0,3]", _kernel_shape([0, 3]), must_refuse=True)
model_case("kernel_shape_1e9", "silent", "conv", "Conv kernel_shape [10^9,3]", _kernel_shape([10 ** 9, 3]),
           must_refuse=True)
model_case("kernel_shape_contradicts_weight", "silent", "conv", "Conv kernel_shape [5,5] with a 3x3 weight",
           _kernel_shape([5, 5]), must_refuse=True)
model_case("kernel_shape_negative", "silent", "conv", "Conv kernel_shape [-3,-3]", _kernel_shape([-3, -3]),
           must_refuse=True)
model_case("kernel_shape_float", "silent", "conv", "Conv kernel_shape given as a FLOAT attribute (3.0)",
           lambda p: _kernel_shape(attr=_attr("kernel_shape", 1, f=3.0))(p), must_refuse=True)
model_case("kernel_shape_string", "silent", "conv", "Conv kernel_shape given as a STRING attribute ('3x3')",
           lambda p: _kernel_shape(attr=_attr("kernel_shape", 3, s=b"3x3"))(p), must_refuse=True)
model_case("kernel_shape_ints_type_holding_floats", "silent", "conv",
           "kernel_shape typed INTS but holding only floats (empty int list)",
           lambda p: _kernel_shape(attr=_attr("kernel_shape", 7, floats=[3.0, 3.0]))(p), must_refuse=True)


def _twice(p):
    conv = p.node("conv1")
    conv.attribute.append(conv.attribute[0])
    conv.attribute[-1].ints[:] = [5, 5]


model_case("attribute_twice", "silent", "conv", "Conv with kernel_shape defined twice ([3,3] then [5,5])", _twice,
           must_refuse=True)


def _conv_attr(**attrs):
    def mutate(p):
        from onnx import helper
        conv = p.node("conv1")
        for k, v in attrs.items():
            for a in list(conv.attribute):
                if a.name == k:
                    conv.attribute.remove(a)
            conv.attribute.append(helper.make_attribute(k, v))
    return mutate


model_case("conv_strides_huge", "crash", "huge-attributes", "Conv strides [2^62,2^62] (legal: a 1x1 output)",
           _conv_attr(strides=[1 << 62, 1 << 62]))
model_case("conv_pads_huge", "memory", "huge-attributes", "Conv pads [2^62]*4: the padded input would be astronomically big",
           _conv_attr(pads=[1 << 62] * 4), must_refuse=True, refuse_in=RUNTIME_REFUSE)
model_case("conv_pads_int64_max", "crash", "huge-attributes", "Conv pads [2^63-1]*4 (overflows any size arithmetic)",
           _conv_attr(pads=[(1 << 63) - 1] * 4), must_refuse=True, refuse_in=RUNTIME_REFUSE)
model_case("conv_dilations_huge", "crash", "huge-attributes", "Conv dilations [2^62,2^62]: kernel larger than any input",
           _conv_attr(dilations=[1 << 62, 1 << 62]), must_refuse=True, refuse_in=RUNTIME_REFUSE)
model_case("conv_group_huge", "crash", "huge-attributes", "Conv group 2^40 with 3 input channels",
           _conv_attr(group=1 << 40), must_refuse=True, refuse_in=RUNTIME_REFUSE)
model_case("conv_group_zero", "crash", "huge-attributes", "Conv group 0 (division by zero)",
           _conv_attr(group=0), must_refuse=True, refuse_in=RUNTIME_REFUSE)
model_case("conv_auto_pad_garbage", "silent", "huge-attributes", "Conv auto_pad 'EVIL'",
           _conv_attr(auto_pad="EVIL"), must_refuse=True, refuse_in=RUNTIME_REFUSE)


def _flatten_axis(p):
    from onnx import helper
    f = p.node("flatten")
    del f.attribute[:]
    f.attribute.append(helper.make_attribute("axis", 1 << 62))


model_case("flatten_axis_huge", "crash", "huge-attributes", "Flatten axis 2^62", _flatten_axis,
           must_refuse=True, refuse_in=RUNTIME_REFUSE)


def _softmax_min_axis(p):
    p.splice("y", [node("Softmax", ["y"], ["sm"], "softmax1", axis=-(1 << 63))], "sm")
    p.outputs[0].name = "sm"


model_case("softmax_axis_int64_min", "crash", "huge-attributes", "Softmax axis -2^63 (negating it overflows)",
           _softmax_min_axis, must_refuse=True, refuse_in=RUNTIME_REFUSE)


def _gemm_transb_huge(p):
    from onnx import helper
    g = p.node("fc")
    del g.attribute[:]
    g.attribute.append(helper.make_attribute("transB", 1 << 40))


model_case("gemm_transB_huge", "crash", "huge-attributes", "Gemm transB 2^40 (an int used as a flag)", _gemm_transb_huge)


# ---- op semantics that only a run can find ----

def _gemm_contradicts(p):
    from onnx import numpy_helper
    p.set_init(numpy_helper.from_array(np.ones((10, 7), np.float32), "W2"))


model_case("gemm_weight_contradicts_input", "crash", "op-semantics", "Gemm weight [10,7] (transB) on a [N,4] input",
           _gemm_contradicts, must_refuse=True, refuse_in=RUNTIME_REFUSE)


def _gather(axis, index=0):
    def mutate(p):
        p.inits.append(ints_init("gidx", [index]))
        p.splice("f", [node("Gather", ["f", "gidx"], ["gathered"], "gather1", axis=axis)], "gathered")
    return mutate


model_case("gather_axis_out_of_range", "crash", "op-semantics", "Gather axis 7 on a rank-2 tensor", _gather(7),
           must_refuse=True, refuse_in=RUNTIME_REFUSE)
model_case("gather_axis_negative_huge", "crash", "op-semantics", "Gather axis -2^40", _gather(-(1 << 40)),
           must_refuse=True, refuse_in=RUNTIME_REFUSE)
model_case("gather_index_out_of_range", "crash", "op-semantics", "Gather index 1000 on an axis of 4 (feeds the Gemm)",
           _gather(1, 1000), must_refuse=True, refuse_in=RUNTIME_REFUSE)


def _gather_table(p):
    """An embedding-like Gather from an initializer table with indices far out of range."""
    from onnx import numpy_helper
    p.inits.append(numpy_helper.from_array(np.ones((5, 4), np.float32), "table"))
    p.inits.append(ints_init("tidx", [1 << 40]))
    p.nodes.append(node("Gather", ["table", "tidx"], ["row"], "gather_table", axis=0))
    p.nodes.append(node("Add", ["f", "row"], ["f2"], "add_row"))
    p.node("fc").input[0] = "f2"


model_case("gather_table_index_huge", "crash", "op-semantics", "Gather row 2^40 of a 5-row initializer table",
           _gather_table, must_refuse=True, refuse_in=RUNTIME_REFUSE)


def _reshape(shape):
    def mutate(p):
        p.inits.append(ints_init("rshape", shape))
        p.splice("f", [node("Reshape", ["f", "rshape"], ["reshaped"], "reshape1")], "reshaped")
    return mutate


model_case("reshape_impossible", "silent", "op-semantics", "Reshape [N,4] to [5,7]", _reshape([5, 7]),
           must_refuse=True, refuse_in=RUNTIME_REFUSE)
model_case("reshape_two_minus_ones", "silent", "op-semantics", "Reshape to [-1,-1]", _reshape([-1, -1]),
           must_refuse=True, refuse_in=RUNTIME_REFUSE)
model_case("reshape_not_divisible", "silent", "op-semantics", "Reshape [N,4] to [-1,3]", _reshape([-1, 3]),
           must_refuse=True, refuse_in=RUNTIME_REFUSE)


def _concat(p):
    p.splice("p", [node("Concat", ["r", "p"], ["cat"], "concat1", axis=1)], "cat")


model_case("concat_mismatched_shapes", "silent", "op-semantics", "Concat of [N,4,8,8] and [N,4,1,1] on axis 1", _concat,
           must_refuse=True, refuse_in=RUNTIME_REFUSE)


def _matmul(p):
    from onnx import numpy_helper
    p.nodes[-1] = node("MatMul", ["f", "W3"], ["y"], "matmul1")
    p.inits.append(numpy_helper.from_array(np.ones((7, 10), np.float32), "W3"))


model_case("matmul_inner_mismatch", "silent", "op-semantics", "MatMul [N,4] x [7,10]", _matmul,
           must_refuse=True, refuse_in=RUNTIME_REFUSE)


def _pad(pads):
    def mutate(p):
        p.inits.append(ints_init("pads", pads))
        p.splice("r", [node("Pad", ["r", "pads"], ["padded"], "pad1")], "padded")
    return mutate


model_case("pad_negative_impossible", "silent", "op-semantics", "Pad -5 on both sides of an 8x8 map (size -2)",
           _pad([0, 0, -5, -5, 0, 0, -5, -5]), must_refuse=True, refuse_in=RUNTIME_REFUSE)
model_case("pad_huge", "memory", "op-semantics", "Pad 2^40 on each spatial side", _pad([0, 0, 1 << 40, 1 << 40, 0, 0, 0, 0]),
           must_refuse=True, refuse_in=RUNTIME_REFUSE)


def _squeeze(p):
    p.inits.append(ints_init("sq_axes", [2]))
    p.splice("r", [node("Squeeze", ["r", "sq_axes"], ["sq"], "squeeze1")], "sq")


model_case("squeeze_axis_not_one", "silent", "op-semantics", "Squeeze axis 2 of size 8", _squeeze,
           must_refuse=True, refuse_in=RUNTIME_REFUSE)


def _unsqueeze(p):
    p.inits.append(ints_init("uq_axes", [1, 1]))
    p.splice("f", [node("Unsqueeze", ["f", "uq_axes"], ["uq"], "unsqueeze1")], "uq")


model_case("unsqueeze_duplicate_axes", "silent", "op-semantics", "Unsqueeze with axes [1,1]", _unsqueeze,
           must_refuse=True, refuse_in=RUNTIME_REFUSE)


def _resize(scales):
    def mutate(p):
        p.inits.append(floats_init("scales", scales))
        p.splice("r", [node("Resize", ["r", "", "scales"], ["resized"], "resize1", mode="nearest")], "resized")
    return mutate


model_case("resize_nan_scales", "silent", "op-semantics", "Resize with scales [1,1,NaN,NaN]",
           _resize([1, 1, float("nan"), float("nan")]), must_refuse=True, refuse_in=RUNTIME_REFUSE)
model_case("resize_inf_scales", "memory", "op-semantics", "Resize with scales [1,1,inf,inf]",
           _resize([1, 1, float("inf"), float("inf")]), must_refuse=True, refuse_in=RUNTIME_REFUSE)
model_case("resize_huge_scales", "memory", "op-semantics", "Resize with scales [1,1,1e6,1e6] (64e12 values)",
           _resize([1, 1, 1e6, 1e6]), must_refuse=True, refuse_in=RUNTIME_REFUSE)


def _relu_extra(p):
    p.node("relu1").input.extend(["c", "W"])


model_case("relu_extra_inputs", "silent", "op-semantics", "Relu with 3 inputs", _relu_extra, must_refuse=True)


# ---- graph structure ----

def _cycle(p):
    p.nodes[1:2] = [node("Add", ["c", "loop_b"], ["loop_a"], "first"), node("Relu", ["loop_a"], ["loop_b"], "second"),
                    node("Relu", ["loop_a"], ["r"], "third")]


model_case("cycle_two_nodes", "crash", "graph", "Add(c, b)->a, Relu(a)->b: a cycle", _cycle, must_refuse=True)


def _self_loop(p):
    p.nodes[1] = node("Add", ["c", "r"], ["r"], "selfish")


model_case("cycle_self_loop", "crash", "graph", "a node consuming its own output (Add(c, r) -> r)", _self_loop,
           must_refuse=True)


def _undefined_input(p):
    p.node("relu1").input[0] = "ghost"


model_case("undefined_input", "silent", "graph", "Relu reads 'ghost', which nothing defines", _undefined_input,
           must_refuse=True)


def _empty_op(p):
    p.node("relu1").op_type = ""


model_case("empty_op_type", "silent", "graph", "a node with op_type ''", _empty_op, must_refuse=True)


def _unproduced_output(p):
    from onnx import helper, TensorProto
    p.outputs.insert(0, helper.make_tensor_value_info("nowhere", TensorProto.FLOAT, ["N", 10]))


model_case("output_not_produced", "silent", "graph", "the first graph output is produced by no node", _unproduced_output,
           must_refuse=True)


def _no_nodes(p):
    p.nodes = []


model_case("no_nodes", "silent", "graph", "a graph without nodes (inputs and outputs declared)", _no_nodes,
           must_refuse=True)


def _duplicate_outputs(p):
    p.nodes.insert(2, node("Relu", ["c"], ["r"], "relu_again"))


model_case("duplicate_output_name", "silent", "graph", "two nodes both produce 'r' (not SSA)", _duplicate_outputs,
           must_refuse=True, refuse_in=RUNTIME_REFUSE)


def _output_overwrites_input(p):
    p.node("relu1").output[0] = "x"
    p.node("gap").input[0] = "x"


model_case("node_overwrites_graph_input", "silent", "graph", "Relu writes to 'x', the graph input", _output_overwrites_input,
           must_refuse=True, refuse_in=RUNTIME_REFUSE)


def _unknown_op(p):
    p.node("relu1").op_type = "Frobnicate"


model_case("unknown_op", "crash", "graph", "op Frobnicate (unsupported: reported, not crashed)", _unknown_op,
           must_refuse=True)


def _unknown_domain(p):
    p.node("relu1").domain = "com.evil"


model_case("undeclared_domain", "silent", "graph", "Relu in domain com.evil, which opset_import does not name",
           _unknown_domain, must_refuse=True)


def _empty_input_name(p):
    p.node("relu1").input[0] = ""


model_case("relu_input_empty_name", "silent", "graph", "Relu's only input is '' (an omitted required input)",
           _empty_input_name, must_refuse=True, refuse_in=RUNTIME_REFUSE)


def _no_graph_inputs(p):
    p.inputs = []


model_case("no_graph_inputs", "silent", "graph", "the graph declares no inputs but reads x", _no_graph_inputs,
           must_refuse=True, refuse_in=RUNTIME_REFUSE)


def _chain(op, n):
    def mutate(p):
        chain, prev = [], "r"
        if op == "Add":
            p.inits.append(floats_init("zero", [0.0]))
        for i in range(n):
            out = f"chain{i}"
            chain.append(node(op, [prev, "zero"] if op == "Add" else [prev], [out], f"chain_{op.lower()}{i}"))
            prev = out
        p.splice("r", chain, prev)
    return mutate


model_case("relu_chain_20000", "crash", "graph", "20,000 chained Relu nodes (recursion depth)", _chain("Relu", 20000))
model_case("add_chain_20000", "crash", "graph", "20,000 chained Add(prev, 0) nodes (recursion depth)", _chain("Add", 20000))


# ---- model header: IR version, opsets ----

def _set(**attrs):
    def mutate(p):
        for k, v in attrs.items():
            setattr(p, k, v)
    return mutate


model_case("opset_zero", "silent", "header", "opset_import ai.onnx version 0", _set(opsets=[("", 0)]), must_refuse=True,
           refuse_in=RUNTIME_REFUSE)
model_case("opset_negative", "silent", "header", "opset_import ai.onnx version -1", _set(opsets=[("", -1)]),
           must_refuse=True, refuse_in=RUNTIME_REFUSE)
model_case("opset_10000", "crash", "header", "opset_import ai.onnx version 10000 (a future opset)",
           _set(opsets=[("", 10000)]))
model_case("ir_version_0", "crash", "header", "ir_version 0", _set(ir=0))
model_case("ir_version_100", "crash", "header", "ir_version 100", _set(ir=100))
model_case("opset_domain_twice_alias", "silent", "header", "opset_import '' 13 and 'ai.onnx' 17 (the same domain twice)",
           _set(opsets=[("", 13), ("ai.onnx", 17)]), must_refuse=True)
model_case("opset_domain_twice_same", "silent", "header", "opset_import '' 13 and '' 17",
           _set(opsets=[("", 13), ("", 17)]), must_refuse=True)
model_case("opset_none_ir8", "silent", "header", "no opset_import at IR 8", _set(opsets=[]), must_refuse=True)


# ---- tensor storage ----

def _weight(t):
    def mutate(p):
        p.set_init(t() if callable(t) else t)
    return mutate


model_case("float_data_wrong_length", "silent", "tensor", "W [4,3,3,3] with 10 float_data values",
           lambda p: _weight(tensor("W", [4, 3, 3, 3], floats=[0.5] * 10))(p), must_refuse=True, refuse_in=RUNTIME_REFUSE)
model_case("raw_data_size_mismatch", "silent", "tensor", "W [4,3,3,3] with 400 bytes of raw_data (432 needed)",
           lambda p: _weight(tensor("W", [4, 3, 3, 3], raw=b"\x00\x00\x80\x3f" * 100))(p), must_refuse=True,
           refuse_in=RUNTIME_REFUSE)
model_case("raw_data_odd_length", "silent", "tensor", "W [4,3,3,3] with 431 bytes of raw_data",
           lambda p: _weight(tensor("W", [4, 3, 3, 3], raw=bytes(431)))(p), must_refuse=True, refuse_in=RUNTIME_REFUSE)
model_case("raw_and_typed_data", "crash", "tensor", "W with both raw_data and float_data",
           lambda p: _weight(tensor("W", [4, 3, 3, 3], raw=bytes(432), floats=[1.0] * 108))(p))
model_case("negative_dims", "silent", "tensor", "W dims [-4,3,3,3] with 432 bytes",
           lambda p: _weight(tensor("W", [-4, 3, 3, 3], raw=bytes(432)))(p), must_refuse=True, refuse_in=RUNTIME_REFUSE)
model_case("negative_dims_pair", "silent", "tensor", "W dims [-4,-3,3,3] (product positive, 108)",
           lambda p: _weight(tensor("W", [-4, -3, 3, 3], raw=bytes(432)))(p), must_refuse=True, refuse_in=RUNTIME_REFUSE)
model_case("unknown_data_type", "silent", "tensor", "W data_type 99",
           lambda p: _weight(tensor("W", [4, 3, 3, 3], data_type=99, raw=bytes(432)))(p), must_refuse=True,
           refuse_in=RUNTIME_REFUSE)
model_case("undefined_data_type", "silent", "tensor", "W data_type 0 (UNDEFINED)",
           lambda p: _weight(tensor("W", [4, 3, 3, 3], data_type=0, raw=bytes(432)))(p), must_refuse=True,
           refuse_in=RUNTIME_REFUSE)
model_case("string_weight", "silent", "tensor", "W as a STRING tensor",
           lambda p: _weight(tensor("W", [4, 3, 3, 3], data_type=8, string_data=[b"w"] * 108))(p), must_refuse=True,
           refuse_in=RUNTIME_REFUSE)
model_case("huge_dims_no_data", "memory", "tensor", "Gemm bias B2 dims [10^12] without data",
           lambda p: _weight(tensor("B2", [10 ** 12]))(p), must_refuse=True, refuse_in=RUNTIME_REFUSE)
model_case("huge_dims_raw_short", "memory", "tensor", "W2 dims [10, 10^11] with 40 bytes of raw data",
           lambda p: _weight(tensor("W2", [10, 10 ** 11], raw=bytes(40)))(p), must_refuse=True, refuse_in=RUNTIME_REFUSE)
model_case("unused_huge_initializer", "memory", "tensor", "an unused initializer of dims [10^6,10^6] without data",
           lambda p: p.inits.append(tensor("unused_huge", [10 ** 6, 10 ** 6])))
model_case("dims_product_wraps_to_zero", "silent", "tensor",
           "W2 dims [2^33, 2^31]: the element count 2^64 wraps to 0 in int64, and there is no data",
           lambda p: _weight(tensor("W2", [1 << 33, 1 << 31]))(p), must_refuse=True, refuse_in=RUNTIME_REFUSE)
model_case("dims_product_overflows", "silent", "tensor", "W2 dims [3037000500, 3037000500] (overflows int64)",
           lambda p: _weight(tensor("W2", [3037000500, 3037000500], raw=bytes(160)))(p), must_refuse=True,
           refuse_in=RUNTIME_REFUSE)


def _dup_init(p):
    from onnx import numpy_helper
    p.inits.append(numpy_helper.from_array(np.ones((10, 5), np.float32), "W2"))


model_case("duplicate_initializer", "silent", "tensor", "two initializers named W2 (the second [10,5])", _dup_init,
           must_refuse=True, refuse_in=RUNTIME_REFUSE)


def _external(location, offset=None, length="16", name="B"):
    t = tensor(name, [4], data_location=1)
    entries = [("location", location)] + ([("offset", offset)] if offset is not None else []) + \
        ([("length", length)] if length is not None else [])
    for k, v in entries:
        e = t.external_data.add()
        e.key, e.value = k, v
    return t


def external_case(name, cls, description, location, offset=None, length="16", setup=None, **kw):
    def build(folder, root):
        p = Parts()
        p.set_init(_external(location, offset, length))
        write_model(folder / "model.onnx", p.build())
        if setup:
            return setup(folder, root)
    kw.setdefault("family", "external-data")
    case(name, cls, kw.pop("family"), description, **kw)(build)


def _weights_bin(size=16):
    def setup(folder, root):
        (folder / "weights.bin").write_bytes(np.full(size // 4, 0.25, np.float32).tobytes())
    return setup


external_case("control_external_data", "control", "bias in weights.bin next to the model (valid)", "weights.bin",
              setup=_weights_bin(), must_accept=True)
external_case("external_offset_negative", "silent", "external data offset -16", "weights.bin", offset="-16",
              setup=_weights_bin(32), must_refuse=True, refuse_in=RUNTIME_REFUSE)
external_case("external_offset_past_eof", "silent", "external data offset 2^62 in a 16-byte file", "weights.bin",
              offset=str(1 << 62), setup=_weights_bin(), must_refuse=True, refuse_in=RUNTIME_REFUSE)
external_case("external_length_huge", "memory", "external data length 10^15 for a 4-float tensor", "weights.bin",
              length=str(10 ** 15), setup=_weights_bin(), must_refuse=True, refuse_in=RUNTIME_REFUSE)
external_case("external_length_garbage", "silent", "external data length 'lots'", "weights.bin", length="lots",
              setup=_weights_bin(), must_refuse=True, refuse_in=RUNTIME_REFUSE)
external_case("external_missing_file", "silent", "external data location names no file", "nothing-here.bin",
              must_refuse=True, refuse_in=RUNTIME_REFUSE)
external_case("external_location_empty", "silent", "external data location ''", "", must_refuse=True,
              refuse_in=RUNTIME_REFUSE)
external_case("external_location_folder", "silent", "external data location '.' (the model's folder)", ".",
              must_refuse=True, refuse_in=RUNTIME_REFUSE)


def _fifo_setup(name):
    def setup(folder, root):
        os.mkfifo(folder / name)
        return dict(fifos=[name])
    return setup


external_case("external_data_fifo", "hang", "external data location is a FIFO in the model's folder", "weights.bin",
              setup=_fifo_setup("weights.bin"), family="filesystem")


def _dev_link(target):
    def setup(folder, root):
        os.symlink(target, folder / "weights.bin")
    return setup


external_case("external_data_dev_zero_link", "memory", "external data weights.bin -> /dev/zero, length 10^12",
              "weights.bin", length=str(10 ** 12), setup=_dev_link("/dev/zero"), must_refuse=True,
              refuse_in=RUNTIME_REFUSE)


# ---- leaks: external data reaching outside the model's folder (all must be refused) ----

def _leak_setup(kind):
    def setup(folder, root):
        outside = root / "_outside"
        if kind == "link_file":
            os.symlink(outside / "secret.bin", folder / "weights.bin")
        elif kind == "link_folder":
            os.symlink(outside, folder / "data")
        elif kind == "link_relative_up":
            os.symlink("../_outside/secret.bin", folder / "weights.bin")
        return dict(secret=True)
    return setup


for _name, _desc, _loc, _kind in [
        ("leak_symlink_file", "weights.bin is a link to a secret outside the model folder", "weights.bin", "link_file"),
        ("leak_symlink_relative", "weights.bin is a relative link ../_outside/secret.bin", "weights.bin",
         "link_relative_up"),
        ("leak_symlinked_folder", "location data/secret.bin through data -> a folder outside", "data/secret.bin",
         "link_folder"),
        ("leak_dotdot", "location ../secret.bin", "../secret.bin", None),
        ("leak_dotdot_nested", "location sub/../../secret.bin", "sub/../../secret.bin", None),
        ("leak_absolute_etc_passwd", "location /etc/passwd (offset 0, length 16)", "/etc/passwd", None),
        ("leak_absolute_secret", "location the absolute path of the secret", "{ROOT}/secret.bin", None),
        ("leak_nul_byte", "location 'weights.bin\\0../secret.bin' (a NUL inside the name)", "x\x00/../../secret.bin", None),
]:
    def _make(loc=_loc, kind=_kind):
        def build(folder, root):
            p = Parts()
            p.set_init(_external(loc.replace("{ROOT}", str(root.resolve()))))
            write_model(folder / "model.onnx", p.build())
            (folder / "sub").mkdir()
            return _leak_setup(kind)(folder, root)
        return build
    case(_name, "leak", "leak", _desc, must_refuse=True, refuse_in=RUNTIME_REFUSE)(_make())


# ---- protobuf-level damage ----

@case("garbage_bytes", "crash", "protobuf", "4 KiB of seeded random bytes", must_refuse=True)
def _(folder, root):
    (folder / "model.onnx").write_bytes(random.Random(7).randbytes(4096))


@case("empty_file", "silent", "protobuf", "a 0-byte model file", must_refuse=True)
def _(folder, root):
    (folder / "model.onnx").write_bytes(b"")


@case("truncated_mid_graph", "crash", "protobuf", "the base model cut in the middle of the graph field", must_refuse=True)
def _(folder, root):
    data = base_bytes()
    (folder / "model.onnx").write_bytes(data[:len(data) // 2])


def _top_fields(data):
    """[(field, start, end)] of the top-level fields of a serialized message."""
    return [(field, start, end) for field, _, start, end in protobuf_wire.fields(data)]


@case("truncated_before_opset", "silent", "protobuf",
      "cut exactly where opset_import starts: parses, but has no opset at IR 8", must_refuse=True)
def _(folder, root):
    data = base_bytes()
    cut = min(s for f, s, e in _top_fields(data) if f == 8)
    _onnx().ModelProto().ParseFromString(data[:cut])  # the cut parses
    (folder / "model.onnx").write_bytes(data[:cut])


@case("truncated_before_graph", "silent", "protobuf", "cut exactly where the graph starts: a model with no graph",
      must_refuse=True)
def _(folder, root):
    data = base_bytes()
    cut = min(s for f, s, e in _top_fields(data) if f == 7)
    (folder / "model.onnx").write_bytes(data[:cut])


@case("truncated_split_graph", "silent", "protobuf",
      "graph written as two merged graph fields (nodes, then initializers), cut between them: it parses, and the nodes "
      "reference initializers that are missing", must_refuse=True)
def _(folder, root):
    onnx = _onnx()
    model = Parts().build()
    g = model.graph
    head = onnx.GraphProto()
    head.CopyFrom(g)
    head.ClearField("initializer")
    tail = onnx.GraphProto()
    tail.initializer.extend(g.initializer)
    model.ClearField("graph")
    prefix = model.SerializeToString()  # ir_version, producer, opset_import
    whole = prefix + ld(7, head.SerializeToString()) + ld(7, tail.SerializeToString())
    check = onnx.ModelProto()
    check.ParseFromString(whole)
    assert len(check.graph.initializer) == 4 and len(check.graph.node) == 5  # merged, it is the whole model
    cut = prefix + ld(7, head.SerializeToString())
    check.ParseFromString(cut)
    assert len(check.graph.initializer) == 0
    (folder / "model.onnx").write_bytes(cut)


@case("truncated_node_list", "silent", "protobuf",
      "graph split into merged fields after 2 nodes and cut there: parses, outputs produced by nothing", must_refuse=True)
def _(folder, root):
    onnx = _onnx()
    model = Parts().build()
    head = onnx.GraphProto()
    head.CopyFrom(model.graph)
    del head.node[2:]
    model.ClearField("graph")
    (folder / "model.onnx").write_bytes(model.SerializeToString() + ld(7, head.SerializeToString()))


@case("varint_overflow", "crash", "protobuf", "ir_version as a 20-byte varint", must_refuse=True)
def _(folder, root):
    (folder / "model.onnx").write_bytes(b"\x08" + b"\xff" * 20 + b"\x01" + base_bytes())


@case("deep_unknown_groups", "crash", "protobuf", "100,000 nested start-group tags of an unknown field (recursion)",
      must_refuse=True)
def _(folder, root):
    (folder / "model.onnx").write_bytes(base_bytes() + key(99, 3) * 100000)


@case("unknown_field_huge_length", "memory", "protobuf", "an unknown field claiming 2^62 bytes", must_refuse=True)
def _(folder, root):
    (folder / "model.onnx").write_bytes(base_bytes() + key(99, 2) + varint(1 << 62) + b"abc")


@case("graph_length_2g", "memory", "protobuf", "a graph field claiming 2.1e9 bytes in a small file", must_refuse=True)
def _(folder, root):
    (folder / "model.onnx").write_bytes(vi(1, 8) + key(7, 2) + varint(2_100_000_000) + base_bytes())


@case("nested_if_2000", "crash", "subgraph", "If nested 2000 deep through then_branch (protobuf/recursion depth)",
      must_refuse=True, refuse_in=RUNTIME_REFUSE)
def _(folder, root):
    (folder / "model.onnx").write_bytes(_nested_if_model(2000))


@case("nested_if_25", "crash", "subgraph", "If nested 25 deep (valid, under protobuf's recursion limit)")
def _(folder, root):
    (folder / "model.onnx").write_bytes(_nested_if_model(25))


def _graph_bytes(nodes, name, outputs):
    return b"".join(ld(1, n) for n in nodes) + ld(2, name.encode()) + b"".join(ld(12, ld(1, o.encode())) for o in outputs)


def _if_node(out, then_graph, else_graph, name):
    attr_then = ld(1, b"then_branch") + ld(6, then_graph) + vi(20, 5)
    attr_else = ld(1, b"else_branch") + ld(6, else_graph) + vi(20, 5)
    return ld(1, b"cond") + ld(2, out.encode()) + ld(3, name.encode()) + ld(4, b"If") + ld(5, attr_then) + ld(5, attr_else)


def _nested_if_model(depth):
    relu = lambda out, nm: ld(1, b"x") + ld(2, out.encode()) + ld(3, nm.encode()) + ld(4, b"Relu")  # noqa: E731
    inner = _graph_bytes([relu("o0", "relu_in")], "g0", ["o0"])
    for level in range(1, depth + 1):
        tiny = _graph_bytes([relu(f"e{level}", f"relu_e{level}")], f"ge{level}", [f"e{level}"])
        inner = _graph_bytes([_if_node(f"o{level}", inner, tiny, f"if{level}")], f"g{level}", [f"o{level}"])
    top_if = _if_node("ifout", inner, _graph_bytes([relu("eo", "relu_eo")], "geo", ["eo"]), "if_top")
    p = Parts()
    from onnx import helper, numpy_helper
    p.inits.append(numpy_helper.from_array(np.array(True), "cond"))
    p.node("conv1").input[0] = "ifout"
    data = p.build().SerializeToString()
    fields = _top_fields(data)
    rest = b"".join(data[s:e] for f, s, e in fields if f != 7)
    [(gs, ge)] = [(s, e) for f, s, e in fields if f == 7]
    graph = data[gs:ge]
    _, body_start = protobuf_wire.read_varint(graph, 1)  # skip the graph field's key and length
    return rest + ld(7, ld(1, top_if) + graph[body_start:])  # the If node first, so the graph stays topologically sorted


def _if_case(then_graph, else_graph, attr_override=None):
    def mutate(p):
        from onnx import helper, numpy_helper
        p.inits.append(numpy_helper.from_array(np.array(True), "cond"))
        attrs = {}
        if then_graph is not None:
            attrs["then_branch"] = then_graph()
        if else_graph is not None:
            attrs["else_branch"] = else_graph()
        n = helper.make_node("If", ["cond"], ["ifout"], name="if1", **attrs)
        if attr_override is not None:
            n.attribute.append(attr_override())
        p.nodes.insert(0, n)
        p.node("conv1").input[0] = "ifout"
    return mutate


def _relu_graph(name="branch", inp="x", out="bo"):
    from onnx import helper, TensorProto
    return helper.make_graph([helper.make_node("Relu", [inp], [out], name=name + "_relu")], name, [],
                             [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)])


def _garbage_graph():
    from onnx import helper, TensorProto
    return helper.make_graph([helper.make_node("Frobnicate", ["ghost", ""], ["go"], name="junk", domain="no.such")],
                             "junk", [helper.make_tensor_value_info("zz", 99, [-5])],
                             [helper.make_tensor_value_info("not_made", TensorProto.FLOAT, None)])


model_case("if_garbage_branch", "crash", "subgraph", "If whose then_branch reads undefined values with an unknown op",
           _if_case(_garbage_graph, _relu_graph), must_refuse=True, refuse_in=RUNTIME_REFUSE)
model_case("if_missing_else", "crash", "subgraph", "If with only a then_branch", _if_case(_relu_graph, None),
           must_refuse=True, refuse_in=RUNTIME_REFUSE)
model_case("if_graph_attr_without_graph", "crash", "subgraph", "If whose then/else attributes are typed GRAPH with no graph",
           _if_case(None, None, lambda: _attr("then_branch", 5)), must_refuse=True, refuse_in=RUNTIME_REFUSE)


def _loop(p):
    from onnx import helper, TensorProto
    p.inits.append(ints_init("trip", [3]))
    from onnx import numpy_helper
    p.inits.append(numpy_helper.from_array(np.array(True), "cond"))
    body = helper.make_graph([helper.make_node("Relu", ["nothing"], ["bo"], name="body_relu")], "body", [],
                             [helper.make_tensor_value_info("bo", TensorProto.FLOAT, None)])
    p.nodes.insert(0, helper.make_node("Loop", ["trip", "cond", "x"], ["loopout"], name="loop1", body=body))
    p.node("conv1").input[0] = "loopout"


model_case("loop_garbage_body", "crash", "subgraph", "Loop whose body has no inputs and reads an undefined value", _loop,
           must_refuse=True, refuse_in=RUNTIME_REFUSE)


def _loop_huge_trip(p):
    from onnx import helper, TensorProto, numpy_helper
    p.inits.append(ints_init("trip", [1 << 62]))
    p.inits.append(numpy_helper.from_array(np.array(True), "cond"))
    body = helper.make_graph(
        [helper.make_node("Identity", ["c_in"], ["c_out"], name="b_id"), helper.make_node("Relu", ["v_in"], ["v_out"], name="b_relu")],
        "body", [helper.make_tensor_value_info("i", TensorProto.INT64, []), helper.make_tensor_value_info("c_in", TensorProto.BOOL, []),
                 helper.make_tensor_value_info("v_in", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("c_out", TensorProto.BOOL, []), helper.make_tensor_value_info("v_out", TensorProto.FLOAT, None)])
    p.nodes.insert(0, helper.make_node("Loop", ["trip", "cond", "x"], ["loopout"], name="loop1", body=body))
    p.node("conv1").input[0] = "loopout"


model_case("loop_trip_count_huge", "hang", "subgraph", "a well-formed Loop with trip count 2^62 and an always-true condition",
           _loop_huge_trip)


# ---- model-local functions ----

def _function(name, nodes, inputs=("x",), outputs=("y",)):
    from onnx import helper
    return helper.make_function("custom", name, list(inputs), list(outputs), nodes,
                                [helper.make_opsetid("", 13), helper.make_opsetid("custom", 1)])


def _use_function(p, fname):
    p.nodes[1] = node(fname, ["c"], ["r"], "call_" + fname, domain="custom")
    p.opsets = [("", 13), ("custom", 1)]


def _exponential(p):
    levels = 40
    for k in range(levels):
        p.functions.append(_function(f"f{k}", [node(f"f{k + 1}", ["x"], ["t"], "a", domain="custom"),
                                               node(f"f{k + 1}", ["t"], ["y"], "b", domain="custom")]))
    p.functions.append(_function(f"f{levels}", [node("Relu", ["x"], ["y"], "leaf")]))
    _use_function(p, "f0")


model_case("function_exponential_2_40", "memory", "functions",
           "40 nested local functions each calling the next twice: inlining expands to 2^40 Relu nodes", _exponential,
           must_refuse=True, refuse_in=RUNTIME_REFUSE)


def _recursive(p):
    p.functions.append(_function("f", [node("Relu", ["x"], ["t"], "r"), node("f", ["t"], ["y"], "again", domain="custom")]))
    _use_function(p, "f")


model_case("function_recursive", "memory", "functions", "a local function f that calls itself", _recursive,
           must_refuse=True, refuse_in=RUNTIME_REFUSE)


def _mutual(p):
    p.functions.append(_function("f", [node("g", ["x"], ["y"], "to_g", domain="custom")]))
    p.functions.append(_function("g", [node("Relu", ["x"], ["t"], "r"), node("f", ["t"], ["y"], "to_f", domain="custom")]))
    _use_function(p, "f")


model_case("function_mutual_recursion", "memory", "functions", "local functions f -> g -> f", _mutual,
           must_refuse=True, refuse_in=RUNTIME_REFUSE)


def _function_missing(p):
    _use_function(p, "nowhere")


model_case("function_undefined", "crash", "functions", "a node in domain 'custom' naming a function that is not defined",
           _function_missing, must_refuse=True, refuse_in=RUNTIME_REFUSE)


def _function_duplicate(p):
    p.functions.append(_function("f", [node("Relu", ["x"], ["y"], "leaf")]))
    p.functions.append(_function("f", [node("Sigmoid", ["x"], ["y"], "leaf")]))
    _use_function(p, "f")


model_case("function_defined_twice", "silent", "functions", "two local functions both named custom.f (Relu vs Sigmoid)",
           _function_duplicate, must_refuse=True, refuse_in=RUNTIME_REFUSE)


def _function_wrong_arity(p):
    p.functions.append(_function("f", [node("Add", ["x", "z"], ["y"], "leaf")], inputs=("x", "z")))
    _use_function(p, "f")  # called with one input: z is missing


model_case("function_missing_input", "silent", "functions", "a call to a 2-input local function with 1 input",
           _function_wrong_arity, must_refuse=True, refuse_in=RUNTIME_REFUSE)


# ---- the filesystem ----

def fs_case(name, cls, description, **kw):
    kw.setdefault("must_refuse", True)
    return case(name, cls, "filesystem", description, **kw)


@fs_case("symlink_loop", "crash", "a.onnx -> b.onnx -> a.onnx")
def _(folder, root):
    os.symlink("b.onnx", folder / "a.onnx")
    os.symlink("a.onnx", folder / "b.onnx")
    return dict(target="{d}a.onnx")


@fs_case("symlink_self", "crash", "model.onnx -> model.onnx")
def _(folder, root):
    os.symlink("model.onnx", folder / "model.onnx")


@fs_case("control_symlink_to_model", "control", "model.onnx -> real/base.onnx (a valid link inside the folder)",
         must_refuse=False, must_accept=True)
def _(folder, root):
    (folder / "real").mkdir()
    write_model(folder / "real" / "base.onnx", Parts().build())
    os.symlink("real/base.onnx", folder / "model.onnx")


def _long_path(folder, total=4300, component=200):
    """Nested folders under folder whose relative path exceeds PATH_MAX, a valid model at the bottom. Returns the
    relative path of the model."""
    parts, length = [], 0
    i = 0
    while length <= total:
        name = (f"d{i:02d}" + "x" * component)[:component]
        parts.append(name)
        length += len(name) + 1
        i += 1
    fd = os.open(folder, os.O_RDONLY)
    try:
        for name in parts:
            os.mkdir(name, dir_fd=fd)
            nfd = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nfd
        mfd = os.open("model.onnx", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(mfd, base_bytes())
        os.close(mfd)
    finally:
        os.close(fd)
    return "/".join(parts) + "/model.onnx"


@fs_case("path_max_relative", "crash", "a valid model at a relative path longer than PATH_MAX (4096)", must_refuse=False)
def _(folder, root):
    return dict(target="{d}" + _long_path(folder))


@fs_case("path_max_absolute", "crash", "a valid model at an absolute path longer than PATH_MAX (4096)", must_refuse=False)
def _(folder, root):
    return dict(target="{abs}" + _long_path(folder))


@fs_case("non_utf8_file_name", "crash", "a folder holding a valid model named b'\\xff\\xfe.onnx' (not UTF-8), scored as a folder",
         must_refuse=False)
def _(folder, root):
    (folder / "models").mkdir()
    with open(os.path.join(os.fsencode(folder / "models"), b"\xff\xfe.onnx"), "wb") as f:
        f.write(base_bytes())
    return dict(target="{d}models", names=["models"])


@fs_case("non_utf8_file_name_and_valid", "crash",
         "a folder with a valid model.onnx and a model named b'\\xff\\xfe.onnx': the valid one must still be scored",
         must_refuse=False, must_accept=True, accept_in=DATA_COMMANDS)
def _(folder, root):
    (folder / "models").mkdir()
    with open(os.path.join(os.fsencode(folder / "models"), b"\xff\xfe.onnx"), "wb") as f:
        f.write(base_bytes())
    write_model(folder / "models" / "model.onnx", Parts().build())
    return dict(target="{d}models", names=["models"])


@fs_case("model_over_2gb_sparse", "crash",
         "a 2.1 GB sparse model: a valid model's bytes then a hole; must be refused quickly without reading it into memory",
         max_seconds=20, max_rss_mib=1200)
def _(folder, root):
    with open(folder / "model.onnx", "wb") as f:
        f.write(base_bytes())
        f.truncate(2_100_000_000)


@fs_case("model_over_4gb_sparse", "memory", "a 4.3 GB sparse model (past 32-bit sizes)", max_seconds=20, max_rss_mib=1200)
def _(folder, root):
    with open(folder / "model.onnx", "wb") as f:
        f.write(base_bytes())
        f.truncate(4_300_000_000)


@fs_case("fifo_model", "hang", "model.onnx is a FIFO nobody writes")
def _(folder, root):
    os.mkfifo(folder / "model.onnx")
    return dict(fifos=["model.onnx"])


@fs_case("fifo_in_scored_folder", "hang", "a folder with a valid model and a FIFO named other.onnx, scored as a folder",
         must_refuse=False)
def _(folder, root):
    (folder / "models").mkdir()
    write_model(folder / "models" / "model.onnx", Parts().build())
    os.mkfifo(folder / "models" / "other.onnx")
    return dict(target="{d}models", fifos=["models/other.onnx"], names=["models", "other.onnx"])


@fs_case("folder_with_self_link", "hang", "a folder holding a valid model and self -> . (a link to itself), scored as a folder",
         must_refuse=False, must_accept=True)
def _(folder, root):
    (folder / "models").mkdir()
    write_model(folder / "models" / "model.onnx", Parts().build())
    os.symlink(".", folder / "models" / "self")
    os.makedirs(folder / "models" / "sub")
    os.symlink("../..", folder / "models" / "sub" / "up")
    return dict(target="{d}models", names=["models"])


def _link_model_to(target):
    return lambda folder, root: os.symlink(target, folder / "model.onnx")


# The model file as a link to something that is not a model.
for _name, _cls, _target, _why in [
        ("symlink_dangling", "crash", "/nonexistent/model.onnx", ""),
        ("dev_zero_model", "memory", "/dev/zero", ""),
        ("dev_urandom_model", "memory", "/dev/urandom", ""),
        ("proc_file_model", "crash", "/proc/self/status", " (a 0-size 'regular' file that is not)")]:
    fs_case(_name, _cls, f"model.onnx -> {_target}{_why}")(_link_model_to(_target))


@fs_case("folder_named_x_onnx", "silent", "an empty folder named x.onnx given as the model")
def _(folder, root):
    (folder / "x.onnx").mkdir()
    return dict(target="{d}x.onnx")


@fs_case("folder_without_models", "silent", "a folder holding no model, given as the path")
def _(folder, root):
    (folder / "empty").mkdir()
    (folder / "empty" / "readme.txt").write_text("nothing here")
    return dict(target="{d}empty", names=["empty"])


# ---- data: .npz ----

def npz_case(name, cls, description, entries=None, arrays=None, builder=None, **kw):
    kw.setdefault("must_refuse", True)

    def build(folder, root):
        write_model(folder / "model.onnx", Parts().build())
        if builder is not None:
            extra = builder(folder, root)
        elif arrays is not None:
            write_npz(folder / "data.npz", **arrays())
            extra = None
        else:
            npz_with(folder / "data.npz", entries())
            extra = None
        meta = dict(data="{d}data.npz", names=["data.npz", "model.onnx"])
        meta.update(extra if isinstance(extra, dict) else {})
        return meta
    case(name, cls, kw.pop("family", "npz"), description, commands=DATA_COMMANDS, **kw)(build)


def _x_payload(n=16):
    return sample_data(n)[0].astype("<f4").tobytes()


X_HEADER = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }"

npz_case("npy_garbage_header", "crash", "x.npy header is not a Python literal",
         lambda: {"x.npy": npy_bytes("{'descr': '<f4', 'shape': ((((( ]]] !!", _x_payload()), "y.npy": y_npy()})
npz_case("npy_header_not_dict", "crash", "x.npy header is a list literal",
         lambda: {"x.npy": npy_bytes("[1, 2, 3]", _x_payload()), "y.npy": y_npy()})
npz_case("npy_overflowing_shape", "memory", "x.npy shape (2^62, 2^62, 3, 8) (the element count overflows)",
         lambda: {"x.npy": npy_bytes(X_HEADER % f"({1 << 62}, {1 << 62}, 3, 8)", _x_payload()), "y.npy": y_npy()})
npz_case("npy_shape_wraps_to_16", "silent", "x.npy shape (2^64+16, 3, 8, 8): 16 samples if wrapped to 64 bits",
         lambda: {"x.npy": npy_bytes(X_HEADER % f"({(1 << 64) + 16}, 3, 8, 8)", _x_payload()), "y.npy": y_npy()})
npz_case("npy_negative_shape", "crash", "x.npy shape (-16, 3, 8, 8)",
         lambda: {"x.npy": npy_bytes(X_HEADER % "(-16, 3, 8, 8)", _x_payload()), "y.npy": y_npy()})
npz_case("npy_negative_pair_shape", "silent", "x.npy shape (-16, -3, 8, 8) (product positive, matches the data)",
         lambda: {"x.npy": npy_bytes(X_HEADER % "(-16, -3, 8, 8)", _x_payload()), "y.npy": y_npy()})
npz_case("npy_missing_shape", "crash", "x.npy header without 'shape'",
         lambda: {"x.npy": npy_bytes("{'descr': '<f4', 'fortran_order': False, }", _x_payload()), "y.npy": y_npy()})
npz_case("npy_missing_descr", "crash", "x.npy header without 'descr'",
         lambda: {"x.npy": npy_bytes("{'fortran_order': False, 'shape': (16, 3, 8, 8), }", _x_payload()), "y.npy": y_npy()})
npz_case("npy_huge_shape_no_data", "memory", "x.npy shape (10^9, 3, 8, 8) with 16 samples of data",
         lambda: {"x.npy": npy_bytes(X_HEADER % "(1000000000, 3, 8, 8)", _x_payload()), "y.npy": y_npy()})
npz_case("npy_shape_disagrees_with_data", "silent", "x.npy shape (16,3,8,8) with half the data",
         lambda: {"x.npy": npy_bytes(X_HEADER % "(16, 3, 8, 8)", _x_payload()[:len(_x_payload()) // 2]), "y.npy": y_npy()})
npz_case("npy_header_length_huge", "memory", "x.npy v2 header length field 0xFFFFFFF0",
         lambda: {"x.npy": npy_bytes(X_HEADER % "(16, 3, 8, 8)", _x_payload(), version=(2, 0), header_len=0xFFFFFFF0),
                  "y.npy": y_npy()})
npz_case("npy_bad_magic", "crash", "x.npy with a wrong magic",
         lambda: {"x.npy": npy_bytes(X_HEADER % "(16, 3, 8, 8)", _x_payload(), magic=b"\x93NOTPY"), "y.npy": y_npy()})
npz_case("npy_version_99", "crash", "x.npy format version 99.0",
         lambda: {"x.npy": npy_bytes(X_HEADER % "(16, 3, 8, 8)", _x_payload(), version=(99, 0)), "y.npy": y_npy()})
npz_case("npy_rank0", "silent", "x.npy of shape () (a scalar)",
         lambda: {"x.npy": npy_bytes(X_HEADER % "()", b"\x00\x00\x80\x3f"), "y.npy": y_npy()})
npz_case("npy_object_dtype", "leak", "x.npy of dtype object ('|O': a pickle)",
         lambda: {"x.npy": npy_bytes("{'descr': '|O', 'fortran_order': False, 'shape': (16,), }",
                                     b"\x80\x04\x95cos\nsystem\n(S'touch /tmp/onnx-gradsign-pwned'\ntR."), "y.npy": y_npy()})
npz_case("npy_complex_dtype", "silent", "x.npy of dtype complex128",
         lambda: {"x.npy": npy_bytes("{'descr': '<c16', 'fortran_order': False, 'shape': (16, 3, 8, 8), }",
                                     bytes(16 * 192 * 16)), "y.npy": y_npy()})
npz_case("npz_nan_pixels", "silent", "x has NaN in the first sample", arrays=lambda: _xy(nan=True))
npz_case("npz_inf_pixels", "silent", "x has +inf in the first sample", arrays=lambda: _xy(inf=True))
npz_case("npz_labels_out_of_range", "silent", "y holds 1000 for a 10-class model", arrays=lambda: _xy(label=1000))
npz_case("npz_labels_negative", "silent", "y holds -1", arrays=lambda: _xy(label=-1))
npz_case("npz_xy_length_mismatch", "silent", "x has 16 samples, y 4 (batch 8)", arrays=lambda: _xy(ylen=4))
npz_case("npz_wrong_shape", "silent", "x is [16,5,7,7] for a [N,3,8,8] model",
         arrays=lambda: dict(x=np.ones((16, 5, 7, 7), np.float32), y=np.zeros(16, np.int64)))
npz_case("npz_empty_batch", "silent", "x [0,3,8,8], y [0]: nothing to score",
         arrays=lambda: dict(x=np.ones((0, 3, 8, 8), np.float32), y=np.zeros(0, np.int64)))
npz_case("npz_missing_y", "crash", "the archive holds x only", arrays=lambda: dict(x=sample_data()[0]), must_refuse=False)
npz_case("npz_float16_x", "crash", "x stored as float16", arrays=lambda: dict(x=sample_data()[0].astype(np.float16),
                                                                              y=sample_data()[1]), must_refuse=False)
npz_case("npz_big_endian_x", "crash", "x stored as big-endian float32",
         arrays=lambda: dict(x=sample_data()[0].astype(">f4"), y=sample_data()[1]), must_refuse=False)
npz_case("npz_fortran_order_x", "crash", "x stored in Fortran order",
         arrays=lambda: dict(x=np.asfortranarray(sample_data()[0]), y=sample_data()[1]), must_refuse=False)
npz_case("npz_float_labels", "silent", "y stored as float32 with 2.5",
         arrays=lambda: dict(x=sample_data()[0], y=np.full(16, 2.5, np.float32)))
npz_case("npz_not_a_zip", "crash", "data.npz holds random bytes",
         builder=lambda folder, root: (folder / "data.npz").write_bytes(random.Random(3).randbytes(2048)))
npz_case("npz_truncated_zip", "crash", "data.npz cut in half",
         builder=lambda folder, root: _truncated_npz(folder))
npz_case("npz_duplicate_x_entries", "crash", "two x.npy entries (different shapes) in one archive",
         builder=lambda folder, root: _duplicate_npz(folder), must_refuse=False)


def _xy(nan=False, inf=False, label=None, ylen=16):
    x, y = sample_data()
    if nan:
        x[0, 0, 0, 0] = np.nan
    if inf:
        x[0, 1, 2, 3] = np.inf
    if label is not None:
        y[0] = label
    return dict(x=x, y=y[:ylen])


def _truncated_npz(folder):
    x, y = sample_data()
    write_npz(folder / "full.npz", x=x, y=y)
    data = (folder / "full.npz").read_bytes()
    (folder / "full.npz").unlink()
    (folder / "data.npz").write_bytes(data[:len(data) // 2])


def _duplicate_npz(folder):
    import warnings
    x, y = sample_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(folder / "data.npz", "w") as z:
            z.writestr("x.npy", _npy_of(x))
            z.writestr("x.npy", _npy_of(np.ones((3, 5), np.float32)))
            z.writestr("y.npy", _npy_of(y))


def _npy_of(a):
    import io
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


def _fifo_npz(folder, root):
    os.mkfifo(folder / "data.npz")
    return dict(fifos=["data.npz"])


npz_case("fifo_npz", "hang", "data.npz is a FIFO", builder=_fifo_npz, must_refuse=True, family="filesystem")
npz_case("npz_dev_zero", "memory", "data.npz -> /dev/zero",
         builder=lambda folder, root: os.symlink("/dev/zero", folder / "data.npz"), family="filesystem")
npz_case("npz_dev_urandom", "memory", "data.npz -> /dev/urandom",
         builder=lambda folder, root: os.symlink("/dev/urandom", folder / "data.npz"), family="filesystem")
npz_case("npz_is_folder", "silent", "data.npz is a folder",
         builder=lambda folder, root: (folder / "data.npz").mkdir(), family="filesystem")


def _bomb(samples, lie=None):
    def build(folder, root):
        header = npy_bytes(X_HEADER % f"({samples}, 3, 32, 32)")
        y = npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (%d,), }" % samples)
        write_zip_bomb(folder / "data.npz", [("x.npy", header, samples * 3 * 32 * 32 * 4),
                                            ("y.npy", y, samples * 8)], lie_size=lie)
    return build


npz_case("zip_bomb_1g", "memory", "x.npy (100000,3,32,32) float32 zeros deflated: 1.2 GB from ~1 MB",
         builder=_bomb(100_000), must_refuse=False, family="bombs")
npz_case("zip_bomb_12g", "memory", "x.npy (1000000,3,32,32) float32 zeros deflated: 12 GB (zip64) from ~12 MB",
         builder=_bomb(1_000_000), must_refuse=False, family="bombs")
npz_case("zip_bomb_lying_size", "memory", "1.2 GB of deflated zeros whose zip headers claim 4 KiB",
         builder=_bomb(100_000, lie=4096), must_refuse=True, family="bombs")


# ---- data: IDX ----

def idx_case(name, cls, description, images=None, labels=None, builder=None, **kw):
    kw.setdefault("must_refuse", True)

    def build(folder, root):
        write_model(folder / "model.onnx", Parts().build())
        if builder is not None:
            return builder(folder, root)
        write_idx_pair(folder, images() if images else None, labels() if labels else None)
        return dict(data="idx:{d}images.idx,{d}labels.idx", names=["images.idx", "labels.idx", "model.onnx"])
    case(name, cls, kw.pop("family", "idx"), description, commands=DATA_COMMANDS, **kw)(build)


idx_case("idx_rank0", "crash", "IDX images of rank 0", images=lambda: idx_bytes([], b"\x07"))
idx_case("idx_negative_dims", "crash", "IDX images dims [0xFFFFFFFF, 8, 8] (-1 as int32)",
         images=lambda: idx_bytes([0xFFFFFFFF, 8, 8], bytes(16 * 64)))
idx_case("idx_negative_dims_pair", "silent", "IDX images dims [-16, -8, 8] (product positive, matches the data)",
         images=lambda: idx_bytes([-16 & 0xFFFFFFFF, -8 & 0xFFFFFFFF, 8], bytes(16 * 64)))
idx_case("idx_huge_dims_no_data", "memory", "IDX images dims [2^31-1, 2^31-1, 2^31-1] with 1 KiB of data",
         images=lambda: idx_bytes([0x7FFFFFFF] * 3, bytes(1024)))
idx_case("idx_dims_wrap_32bit", "silent", "IDX images dims [65536, 65536, 16] (2^36 elements; 0 in 32 bits)",
         images=lambda: idx_bytes([65536, 65536, 16], bytes(1024)))
idx_case("idx_rank_255", "crash", "IDX images claiming rank 255 with 40 bytes after the magic",
         images=lambda: bytes([0, 0, 8, 255]) + bytes(40))
idx_case("idx_bad_type", "crash", "IDX type byte 0x07 (undefined)",
         images=lambda: idx_bytes([16, 8, 8], bytes(16 * 64), type_byte=0x07))
idx_case("idx_bad_magic", "crash", "IDX magic bytes 0xff 0xff", images=lambda: b"\xff\xff" + idx_bytes([16, 8, 8], bytes(1024))[2:])
idx_case("idx_label_count_mismatch", "silent", "16 images, 4 labels (batch 8)",
         labels=lambda: idx_bytes([4], bytes(4)))
idx_case("idx_labels_out_of_range", "silent", "labels of 200 for a 10-class model",
         labels=lambda: idx_bytes([16], bytes([200]) * 16))
idx_case("idx_wrong_image_size", "silent", "28x28 IDX images for an 8x8 model",
         images=lambda: idx_bytes([16, 28, 28], bytes(16 * 784)))
idx_case("idx_truncated", "silent", "IDX images [16,8,8] holding 100 bytes",
         images=lambda: idx_bytes([16, 8, 8], bytes(100)))
idx_case("idx_float_type_nan", "silent", "IDX float32 images (type 0x0D) full of NaN",
         images=lambda: idx_bytes([16, 8, 8], struct.pack(">f", float("nan")) * 1024, type_byte=0x0D))


def _idx_gz(folder, root, corrupt=False):
    n = 16
    images = idx_bytes([n, 8, 8], bytes(range(256)) * 4)
    labels = idx_bytes([n], bytes(n))
    with gzip.open(folder / "images.idx.gz", "wb") as f:
        f.write(images)
    with gzip.open(folder / "labels.idx.gz", "wb") as f:
        f.write(labels)
    if corrupt:
        data = (folder / "images.idx.gz").read_bytes()
        (folder / "images.idx.gz").write_bytes(data[:len(data) // 2])
    return dict(data="idx:{d}images.idx.gz,{d}labels.idx.gz", names=["images.idx.gz", "labels.idx.gz", "model.onnx"])


def _idx_gz_bomb(folder, root):
    n = 100_000_000  # 100M 8x8 images: 6.4 GB of zeros behind a few MB of gzip
    write_gzip_bomb(folder / "images.idx.gz", idx_bytes([n, 8, 8]), n * 64)
    write_gzip_bomb(folder / "labels.idx.gz", idx_bytes([n]), n)
    return dict(data="idx:{d}images.idx.gz,{d}labels.idx.gz", names=["images.idx.gz", "labels.idx.gz", "model.onnx"])


idx_case("control_idx_gz", "control", "valid gzipped IDX images/labels", builder=_idx_gz, must_refuse=False,
         must_accept=True, family="control")
idx_case("idx_gz_truncated", "crash", "gzipped IDX images cut in half",
         builder=lambda folder, root: _idx_gz(folder, root, corrupt=True))
idx_case("gzip_bomb_idx", "memory", "gzipped IDX images [10^8,8,8] of zeros: 6.4 GB from ~6 MB", builder=_idx_gz_bomb,
         must_refuse=False, family="bombs")


def _idx_fifo(folder, root):
    write_idx_pair(folder)
    os.unlink(folder / "images.idx")
    os.mkfifo(folder / "images.idx")
    return dict(data="idx:{d}images.idx,{d}labels.idx", fifos=["images.idx"], names=["images.idx", "model.onnx"])


idx_case("fifo_idx", "hang", "IDX images file is a FIFO", builder=_idx_fifo, family="filesystem")


# --------------------------------------------------------------------------------------------------------------------
# generate


def select(sample=None, seed=0):
    """All case names, or a seeded sample covering every class and family plus random others up to `sample`."""
    names = sorted(CASES)
    if sample is None:
        return names
    rng = random.Random(seed)
    chosen = []
    for attr in ("cls", "family"):
        for group in sorted({CASES[n][attr] for n in names}):
            if any(CASES[c][attr] == group for c in chosen):
                continue
            chosen.append(rng.choice([n for n in names if CASES[n][attr] == group]))
    rest = [n for n in names if n not in chosen]
    rng.shuffle(rest)
    chosen += rest[:max(0, sample - len(chosen))]
    return sorted(chosen)


def generate(root, sample=None, seed=0, names=None, quiet=False):
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / "_outside").mkdir(exist_ok=True)
    (root / "secret.bin").write_bytes(SECRET)
    (root / "_outside" / "secret.bin").write_bytes(SECRET)
    names = names or select(sample, seed)
    for name in names:
        spec = CASES[name]
        folder = root / name
        if folder.exists() or folder.is_symlink():
            shutil.rmtree(folder)
        folder.mkdir()
        meta = dict(name=name, cls=spec["cls"], family=spec["family"], description=spec["description"],
                    must_refuse=spec["must_refuse"], refuse_in=spec["refuse_in"], must_accept=spec["must_accept"],
                    accept_in=spec["accept_in"],
                    commands=spec["commands"], target="{d}model.onnx", data=None, names=None, fifos=[], secret=False)
        meta.update(spec["meta"])
        extra = spec["build"](folder, root)
        meta.update(extra if isinstance(extra, dict) else {})
        if meta["names"] is None:
            meta["names"] = [os.path.basename(meta["target"].replace("{d}", "").replace("{abs}", "").rstrip("/"))]
        (folder / "case.json").write_text(json.dumps(meta, indent=1))
        if not quiet:
            print(f"  {name}")
    if not quiet:
        print(f"{len(names)} case(s) in {root}")
    return names


# --------------------------------------------------------------------------------------------------------------------
# run

CRASH_PATTERNS = [
    (re.compile(r"^   at ", re.M), ".NET stack trace"),
    (re.compile(r"Unhandled exception", re.I), "Unhandled exception"),
    (re.compile(r"terminate called"), "terminate called"),
    (re.compile(r"Segmentation"), "Segmentation fault"),
    (re.compile(r"Aborted"), "Aborted"),
    (re.compile(r"Fatal error\.|FailFast|Stack overflow\.", re.I), ".NET fatal error"),
    (re.compile(r"Exception raised from .*most recent call first|^frame #\d+: ", re.M), "libtorch C++ stack trace"),
]
# texts of exceptions that were caught but never turned into a message: reported as notes, not failures
RAW_EXCEPTION = re.compile(r"Object reference not set|Index was outside the bounds|Arithmetic operation resulted in an "
                           r"overflow|Specified argument was out of the range|Value cannot be null|Sequence contains no|"
                           r"The given key .* was not present|Unable to cast object|was not in a correct format|"
                           r"System\.[A-Za-z.]+Exception")
OUTPUT_LIMIT = 2 << 20


def _rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    kids = [int(k) for k in f.read().split()]
                out += kids
                todo += kids
        except OSError:
            pass
    return out


def tree_rss_mib(pid):
    return sum(_rss_kib(p) for p in [pid] + _descendants(pid)) / 1024


def child_env():
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", DOTNET_CLI_TELEMETRY_OPTOUT="1", DOTNET_NOLOGO="1",
               DOTNET_DbgEnableMiniDump="0", NO_COLOR="1")
    env.pop("TERM", None)
    return env


def run_process(argv, cwd, timeout, max_rss_mib, tmp):
    """Run argv with stdout/stderr to files, polling RSS every 50 ms. Returns a dict with rc, signal, timed_out,
    memory (killed for memory), peak_mib, seconds, stdout, stderr."""
    out_path, err_path = os.path.join(tmp, "stdout"), os.path.join(tmp, "stderr")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.monotonic()
        proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=child_env(),
                                start_new_session=True)
        peak, killed, status, usage = 0.0, None, None, None
        try:
            status, usage, peak, killed = _watch(proc, start, timeout, max_rss_mib)
        finally:
            if status is None:  # interrupted: never leave the child running
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                os.wait4(proc.pid, 0)
        seconds = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: keep Popen from waiting again
    peak = max(peak, (usage.ru_maxrss / 1024) if usage else 0)
    result = dict(rc=proc.returncode, timed_out=killed == "timeout", memory=killed == "memory", peak_mib=round(peak, 1),
                  seconds=round(seconds, 2))
    for name, path in (("stdout", out_path), ("stderr", err_path)):
        with open(path, "rb") as f:
            result[name] = f.read(OUTPUT_LIMIT).decode("utf-8", "replace")
    return result


def _watch(proc, start, timeout, max_rss_mib):
    peak, killed = 0.0, None
    while True:
        pid, st, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            return st, ru, peak, killed
        peak = max(peak, tree_rss_mib(proc.pid))
        elapsed = time.monotonic() - start
        if killed is None and peak > max_rss_mib:
            killed = "memory"
        elif killed is None and elapsed > timeout:
            killed = "timeout"
        if killed:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _, st, ru = os.wait4(proc.pid, 0)
            return st, ru, peak, killed
        time.sleep(0.05)


def expand(template, d, case_dir):
    return template.replace("{abs}", str(case_dir) + "/").replace("{d}", d)


def command_argv(cli, command, meta, d="", case_dir=""):
    target = expand(meta["target"], d, case_dir)
    if command == "inspect":
        return [cli, "inspect", "--format", "json", target]
    if command == "verify":
        return [cli, "verify", "--format", "json", target]
    argv = [cli, "score", target, "--format", "json", "--threads", "1", "--batch-size", "8"]
    if meta.get("data"):
        argv += ["--data", expand(meta["data"], d, case_dir)]
    return argv


def _json_or_none(text):
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _errors_of(doc):
    """The error strings of a JSON report (inspect/verify/score: a list of objects with 'error')."""
    if isinstance(doc, list):
        out = []
        for r in doc:
            if isinstance(r, dict) and r.get("error"):
                out.append(str(r["error"]))
            if isinstance(r, dict) and r.get("unsupported"):  # inspect: the report of that model lists them
                out.append(f"{r.get('model')}: unsupported " + ", ".join(str(u.get("op_type")) for u in r["unsupported"]
                                                                         if isinstance(u, dict)))
        return out
    if isinstance(doc, dict) and doc.get("error"):
        return [str(doc["error"])]
    return []


def _finite(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _records_sound(records):
    """None when every record is ok with a finite gradsign or an error record; else what is wrong."""
    if not isinstance(records, list) or not records:
        return "no records"
    for r in records:
        if not isinstance(r, dict):
            return "a record is not an object"
        if r.get("status") == "ok":
            if not _finite(r.get("gradsign")):
                return f"status ok with gradsign {r.get('gradsign')!r}"
        elif r.get("status") == "error":
            if not r.get("error"):
                return "error record without an error text"
        else:
            return f"status {r.get('status')!r}"
    return None


def _crash_marks(text):
    return [label for pattern, label in CRASH_PATTERNS if pattern.search(text)]


def head(text, lines=3, width=300):
    out = [l for l in text.strip().splitlines() if l.strip()][:lines]
    return " | ".join(out)[:width]


def judge(meta, command, res):
    """(verdict, reason, message, notes) for one CLI run."""
    doc = _json_or_none(res["stdout"])
    errors = _errors_of(doc)
    message = "\n".join(errors) + "\n" + res["stderr"] if doc is not None else res["stdout"] + "\n" + res["stderr"]
    everything = res["stdout"] + "\n" + res["stderr"] + "\n" + "\n".join(errors)
    notes = []
    raw = RAW_EXCEPTION.search(message)
    if raw:
        notes.append(f"raw exception text: {raw.group(0)!r}")
    refuse = meta["must_refuse"] and command in meta["refuse_in"]
    accept = meta["must_accept"] and command in meta.get("accept_in", meta["commands"])
    rc = res["rc"]
    if res["memory"]:
        return "FAIL", f"memory: peak {res['peak_mib']:.0f} MiB over the limit, killed", message, notes
    if res["timed_out"]:
        return "FAIL", f"hang: no exit within {res['seconds']:.0f} s, killed", message, notes
    if meta.get("secret") and SECRET_MARK in everything:
        return "FAIL", "leak: the secret's bytes appear in the output", message, notes
    if rc < 0:
        return "FAIL", f"crash: killed by signal {-rc} ({signal.Signals(-rc).name})", message, notes
    if rc not in (0, 1, 2):
        return "FAIL", f"crash: exit code {rc}", message, notes
    marks = _crash_marks(everything)
    if marks:
        return "FAIL", f"crash text in the output ({', '.join(marks)}), exit {rc}", message, notes
    if res.get("limit_mib") and res["peak_mib"] > res["limit_mib"]:
        return "FAIL", f"memory: peak {res['peak_mib']:.0f} MiB over the limit {res['limit_mib']}", message, notes
    if meta.get("max_seconds") and res["seconds"] > meta["max_seconds"]:
        return "FAIL", f"slow: {res['seconds']:.1f} s (limit {meta['max_seconds']} s), exit {rc}", message, notes
    if rc == 0:
        if doc is None:
            return "FAIL", "unsound: exit 0 with output that is not JSON", message, notes
        if command == "score":
            bad = _records_sound(doc)
            if bad:
                return "FAIL", f"unsound: exit 0 but {bad}", message, notes
            scored = [r for r in doc if r.get("status") == "ok"]
        else:
            if errors:
                return "FAIL", "unsound: exit 0 with an error in the report", message, notes
            scored = doc
        if refuse and scored:
            if meta["cls"] == "leak" or meta.get("secret"):
                return "FAIL", "leak: exit 0 using data outside the model's folder", message, notes
            return "FAIL", "silently scored: must_refuse, but exit 0", message, notes
        if accept and command == "score" and len(scored) < 1:
            return "FAIL", "refused a valid input", message, notes
        return "PASS", "exit 0, sound result", message, notes
    # exit 1 or 2
    if accept:
        return "FAIL", f"refused a valid input (exit {rc})", message, notes
    if not any(n in message for n in meta["names"]):
        return "FAIL", f"unclear message: exit {rc} without naming {meta['names'][0]!r}", message, notes
    return "PASS", f"refused cleanly (exit {rc})", message, notes


def unblock_fifos(case_dir, meta):
    """Open each FIFO of the case for writing and close it, so a reader stuck on it sees end-of-file."""
    for rel in meta.get("fifos") or []:
        try:
            fd = os.open(os.path.join(case_dir, rel), os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        except OSError:
            pass


def load_cases(root):
    cases = []
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name, "case.json")
        if not name.startswith("_") and os.path.isfile(path):
            with open(path) as f:
                meta = json.load(f)
            meta["names"] = [n.replace("{d}", "").replace("{abs}", "") for n in meta.get("names") or []] or \
                [os.path.basename(meta["target"].replace("{d}", "").replace("{abs}", "").rstrip("/"))]
            cases.append(meta)
    return cases


class Server:
    """One `serve --stdio` process, read by a thread, polled for memory."""

    def __init__(self, cli, cwd, stderr_path):
        self.stderr_path = stderr_path
        self.stderr = open(stderr_path, "wb")
        self.proc = subprocess.Popen([cli, "serve", "--stdio", "--threads", "1"], cwd=cwd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.stderr, env=child_env(), start_new_session=True)
        self.lines = queue.Queue()
        self.peak = 0.0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.decode("utf-8", "replace"))
        self.lines.put(None)

    def send(self, line):
        try:
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError):
            return False

    def wait_for(self, ident, wait_s, max_rss_mib, match_null=False):
        """(answer dict | None, problem | None, peak MiB during the wait)."""
        start, peak = time.monotonic(), 0.0
        while True:
            try:
                line = self.lines.get(timeout=0.05)
            except queue.Empty:
                line = ""
            if line is None:
                self.proc.wait()
                return None, f"server died (exit {self.proc.returncode})", peak
            if line:
                doc = _json_or_none(line)
                if not isinstance(doc, dict):
                    continue
                if doc.get("id") == ident or (match_null and doc.get("id") is None):
                    return doc, None, peak
            peak = max(peak, tree_rss_mib(self.proc.pid))
            self.peak = max(self.peak, peak)
            if peak > max_rss_mib:
                self.kill()
                return None, f"memory: server peak {peak:.0f} MiB over the limit, killed", peak
            if time.monotonic() - start > wait_s:
                return None, f"hang: no answer within {wait_s:.0f} s", peak

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def close(self, wait_s=20):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            return self.proc.wait(wait_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return None


def judge_serve(meta, answer, problem):
    if problem:
        return "FAIL", problem, ""
    text = json.dumps(answer)
    if meta.get("secret") and SECRET_MARK in text:
        return "FAIL", "leak: the secret's bytes appear in the answer", text
    errors = [answer.get("error")] if answer.get("error") else []
    results = answer.get("results")
    if isinstance(results, list):
        errors += [r.get("error") for r in results if isinstance(r, dict) and r.get("error")]
    message = "\n".join(str(e) for e in errors)
    marks = _crash_marks(message)
    if marks:
        return "FAIL", f"crash text in the answer ({', '.join(marks)})", message
    refuse = meta["must_refuse"] and "serve" in meta["refuse_in"]
    accept = meta["must_accept"] and "serve" in meta.get("accept_in", ["serve"])
    if answer.get("ok") is True:
        bad = _records_sound(results)
        if bad:
            return "FAIL", f"unsound answer: {bad}", message
        scored = [r for r in results if r.get("status") == "ok"]
        if refuse and scored:
            if meta["cls"] == "leak" or meta.get("secret"):
                return "FAIL", "leak: ok answer using data outside the model's folder", message
            return "FAIL", "silently scored: must_refuse, but an ok record", message
        if accept and not scored:
            return "FAIL", "refused a valid input", message
        return "PASS", "answered" + (" (error record)" if not scored else ""), message
    if answer.get("ok") is False:
        err = str(answer.get("error") or "")
        if not err:
            return "FAIL", "ok false without an error", message
        if re.search(r"time(d)? ?out", err, re.I):
            return "FAIL", "hang: the server's own timeout answered", message
        if accept:
            return "FAIL", "refused a valid input", message
        return "PASS", "answered ok false", message
    return "FAIL", f"answer without ok: {text[:200]}", message


PROTOCOL_PROBES = [
    ("garbage_line", "this is not json {{{", "a line that is not JSON"),
    ("deep_json", "[" * 100000 + "]" * 100000, "JSON nested 100,000 deep"),
    ("paths_not_a_list", json.dumps({"id": "p1", "paths": "x.onnx"}), "paths given as a string"),
    ("unknown_field", json.dumps({"id": "p2", "paths": ["x.onnx"], "bogus": 1}), "an unknown request field"),
    ("unknown_op", json.dumps({"id": "p3", "op": "rm -rf"}), "an unknown op"),
    ("huge_batch", json.dumps({"id": "p4", "paths": ["x.onnx"], "batch_size": 1 << 62}), "batch_size 2^62"),
    ("negative_timeout", json.dumps({"id": "p5", "paths": ["x.onnx"], "timeout_seconds": -1}), "timeout_seconds -1"),
]


def run_serve(root, cases, cli, timeout, max_rss_mib, tmp, report):
    """All serve cases through one server (restarted only after a crash, a kill or a wedge)."""
    stderr_path = os.path.join(tmp, "serve.stderr")
    live = []
    try:
        _serve_cases(root, cases, cli, timeout, max_rss_mib, stderr_path, report, live)
    finally:
        for server in live:  # interrupted, or a server left over: never leave one running
            if server.proc.poll() is None:
                server.kill()


def _serve_cases(root, cases, cli, timeout, max_rss_mib, stderr_path, report, live):
    def spawn():
        live.append(Server(cli, root, f"{stderr_path}.{len(live)}"))  # one stderr per server, so messages are its own
        return live[-1]

    server = spawn()
    restarts = 0
    for n, meta in enumerate(cases):
        case_dir = os.path.join(root, meta["name"])
        d = meta["name"] + "/"
        request = {"id": n, "paths": [expand(meta["target"], d, case_dir)], "proxy": "gradsign", "batch_size": 8,
                   "timeout_seconds": timeout}
        if meta.get("data"):
            request["data"] = expand(meta["data"], d, case_dir)
        start = time.monotonic()
        if server.send(json.dumps(request)):
            answer, problem, peak = server.wait_for(n, timeout + 15, min(max_rss_mib, meta.get("max_rss_mib") or max_rss_mib))
        else:
            answer, problem, peak = None, f"server died before the request (exit {server.proc.poll()})", 0
        seconds = time.monotonic() - start
        verdict, reason, message = judge_serve(meta, answer, problem)
        if verdict == "PASS" and meta.get("max_seconds") and seconds > meta["max_seconds"]:
            verdict, reason = "FAIL", f"slow: {seconds:.1f} s (limit {meta['max_seconds']} s)"
        unblock_fifos(case_dir, meta)
        if problem:
            message = head(_tail(server.stderr_path), 4)
            wedged = True
            if server.proc.poll() is None and "hang" in problem:
                server.send(json.dumps({"id": f"h{n}", "op": "health"}))
                health, _, _ = server.wait_for(f"h{n}", 10, max_rss_mib)
                wedged = health is None
                reason += "; health " + ("unanswered: server wedged, restarted" if wedged else "still answered")
            if wedged or server.proc.poll() is not None:
                if server.proc.poll() is None:
                    server.kill()
                server = spawn()
                restarts += 1
        report(meta, "serve", verdict, reason, dict(rc=None, seconds=round(seconds, 2), peak_mib=round(peak, 1)), message, [])
    # the protocol itself
    for name, line, description in PROTOCOL_PROBES:
        meta = dict(name="serve_" + name, cls="serve", family="serve-protocol", description=description, must_refuse=False,
                    refuse_in=[], must_accept=False, names=[])
        start = time.monotonic()
        ident = _json_or_none(line).get("id") if isinstance(_json_or_none(line), dict) else None
        if server.send(line):
            answer, problem, peak = server.wait_for(ident, 30, max_rss_mib, match_null=True)
        else:
            answer, problem, peak = None, "server died before the request", 0
        verdict, reason, message = judge_serve(meta, answer, problem)
        if not problem and answer.get("ok") is not False:
            verdict, reason = "FAIL", "a malformed request was not answered ok false"
        if problem:
            if server.proc.poll() is None:
                server.kill()
            server = spawn()
            restarts += 1
        report(meta, "serve", verdict, reason, dict(rc=None, seconds=round(time.monotonic() - start, 2), peak_mib=peak),
               message, [])
    meta = dict(name="serve_final_health", cls="serve", family="serve-protocol", description="health after every case",
                must_refuse=False, refuse_in=[], must_accept=False, names=[])
    server.send(json.dumps({"id": "final-health", "op": "health"}))
    answer, problem, peak = server.wait_for("final-health", 30, max_rss_mib)
    ok = answer is not None and answer.get("ok") is True
    note = f" ({restarts} restart(s) after failures above)" if restarts else ""
    report(meta, "serve", "PASS" if ok else "FAIL", ("health answered" if ok else f"health: {problem or answer}") + note,
           dict(rc=None, seconds=0, peak_mib=peak), "", [])
    rc = server.close()
    tail = _tail(server.stderr_path)
    marks = _crash_marks(tail)
    meta = dict(meta, name="serve_exit", description="the server exits 0 at end of input")
    report(meta, "serve", "PASS" if rc == 0 and not marks else "FAIL",
           f"server exit {rc}" + (f", stderr has {', '.join(marks)}" if marks else ""), dict(rc=rc, seconds=0, peak_mib=0),
           head(tail, 4), [])


def _tail(path, size=20000):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - size))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def run(root, cli, timeout=60, max_rss_mib=3000, report_path=None, commands=None, serve=True, quiet=False):
    """Run every case in root; returns the list of result dicts (also written as JSON lines to report_path)."""
    root = os.path.abspath(root)
    cli = os.path.abspath(cli)
    cases = load_cases(root)
    results = []
    out = open(report_path, "w") if report_path else None
    started = time.monotonic()

    def report(meta, command, verdict, reason, res, message, notes):
        r = dict(case=meta["name"], cls=meta["cls"], family=meta["family"], command=command, verdict=verdict,
                 reason=reason, rc=res.get("rc"), seconds=res.get("seconds"), peak_rss_mib=res.get("peak_mib"),
                 must_refuse=bool(meta["must_refuse"] and command in meta["refuse_in"]),
                 description=meta["description"], message=head(message, 4, 500), notes=notes)
        results.append(r)
        if out:
            out.write(json.dumps(r) + "\n")
            out.flush()
        if not quiet:
            mark = "ok  " if verdict == "PASS" else "FAIL"
            print(f"{mark} {meta['name']:<38} {command:<8} {r['seconds'] or 0:6.1f}s {reason}"
                  + (f"  [{r['message'][:160]}]" if verdict == "FAIL" and r["message"] else ""), flush=True)

    with tempfile.TemporaryDirectory(prefix="hostile-run-") as tmp:
        for meta in cases:
            case_dir = os.path.join(root, meta["name"])
            for command in ("inspect", "verify", "score"):
                if command not in meta["commands"] or (commands and command not in commands):
                    continue
                limit = min(max_rss_mib, meta.get("max_rss_mib") or max_rss_mib)
                res = run_process(command_argv(cli, command, meta, "", case_dir), case_dir, timeout, limit, tmp)
                res["limit_mib"] = limit
                unblock_fifos(case_dir, meta)
                verdict, reason, message, notes = judge(meta, command, res)
                report(meta, command, verdict, reason, res, message, notes)
        if serve and (not commands or "serve" in commands):
            run_serve(root, [m for m in cases if "serve" in m["commands"]], cli, timeout, max_rss_mib, tmp, report)
    if out:
        out.close()
    if not quiet:
        summarize(results, time.monotonic() - started)
    return results


def summarize(results, seconds=None):
    print()
    print(f"{'class':<10} {'cases':>5} {'runs':>5} {'PASS':>5} {'FAIL':>5}  failures by kind")
    for cls in REPORT_CLASSES:
        rows = [r for r in results if r["cls"] == cls]
        if not rows:
            continue
        kinds = {}
        for r in rows:
            if r["verdict"] == "FAIL":
                k = r["reason"].split(":")[0].split(" (")[0]
                kinds[k] = kinds.get(k, 0) + 1
        print(f"{cls:<10} {len({r['case'] for r in rows}):>5} {len(rows):>5} {sum(r['verdict'] == 'PASS' for r in rows):>5} "
              f"{sum(r['verdict'] == 'FAIL' for r in rows):>5}  " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    fails = [r for r in results if r["verdict"] == "FAIL"]
    print(f"{'total':<10} {len({r['case'] for r in results}):>5} {len(results):>5} {len(results) - len(fails):>5} "
          f"{len(fails):>5}" + (f"  in {seconds:.0f} s" if seconds else ""))
    notes = [r for r in results if r["notes"]]
    if notes:
        print(f"\nnotes ({len(notes)}): caught exceptions whose raw text reached the message")
        for r in notes:
            print(f"  {r['case']} {r['command']}: {'; '.join(r['notes'])}")
    if fails:
        print(f"\nFAIL ({len(fails)}):")
        for r in fails:
            print(f"  [{r['cls']}] {r['case']} {r['command']}: {r['reason']}"
                  + (f" — {r['message'][:200]}" if r["message"] else ""))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="write the cases into DIR")
    g.add_argument("dir")
    g.add_argument("--sample", type=int, help="a seeded sample of at least one case per class and family, up to N")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--case", action="append", help="only this case (repeatable)")
    r = sub.add_parser("run", help="run the cases in DIR through the CLI")
    r.add_argument("dir")
    r.add_argument("--cli", required=True)
    r.add_argument("--timeout", type=float, default=60)
    r.add_argument("--max-rss-mib", type=float, default=3000)
    r.add_argument("--report", help="write one JSON line per (case, command)")
    r.add_argument("--commands", help="comma-separated subset of inspect,verify,score,serve")
    sub.add_parser("list", help="list the cases")
    a = ap.parse_args(argv)
    if a.cmd == "list":
        for name in sorted(CASES):
            c = CASES[name]
            print(f"{c['cls']:<8} {c['family']:<16} {name:<38} {'refuse ' if c['must_refuse'] else ''}{c['description']}")
        return 0
    if a.cmd == "generate":
        for name in a.case or []:
            if name not in CASES:
                ap.error(f"no case {name!r}")
        generate(a.dir, a.sample, a.seed, names=a.case)
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds, so the running child is killed too
    if not os.access(a.cli, os.X_OK):
        ap.error(f"{a.cli}: not an executable")
    results = run(a.dir, a.cli, a.timeout, a.max_rss_mib, a.report, a.commands.split(",") if a.commands else None)
    return 1 if any(r["verdict"] == "FAIL" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
