"""Writes src/OnnxGradSign/Onnx/op_schemas.json: for every operator of the default domain and every version of it, the input
and output counts and the attribute types ONNX's checker holds nodes to (from the installed onnx package's own schemas).
ModelChecker embeds the file and checks each node against the schema its opset selects.

    /usr/bin/python3 tools/make_op_schemas.py
"""
import json
from pathlib import Path

import onnx
import onnx.defs

OUT = Path(__file__).resolve().parent.parent / "src" / "OnnxGradSign" / "Onnx" / "op_schemas.json"
UNBOUNDED = 2**31 - 1  # onnx's "variadic" maximum


def main():
    ops = {}
    for schema in onnx.defs.get_all_schemas_with_history():
        if schema.domain != "" or schema.deprecated:
            continue
        ops.setdefault(schema.name, []).append({
            "since": schema.since_version,
            "inputs": [schema.min_input, min(schema.max_input, UNBOUNDED)],
            "outputs": [schema.min_output, min(schema.max_output, UNBOUNDED)],
            "attributes": {name: [int(a.type), a.required] for name, a in sorted(schema.attributes.items())},
        })
    for versions in ops.values():
        versions.sort(key=lambda v: v["since"])
    document = {"onnx": onnx.__version__, "opset": onnx.defs.onnx_opset_version(), "ops": dict(sorted(ops.items()))}
    OUT.write_text(json.dumps(document, separators=(",", ":")) + "\n")
    print(f"{OUT}: {len(ops)} operators, opsets up to {document['opset']} (onnx {onnx.__version__})")


if __name__ == "__main__":
    main()
