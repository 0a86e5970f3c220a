#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks for OnnxGradSign: the Debian Python packages that tools/ and the parity tests use,
# and the NuGet packages (TorchSharp + libtorch, ONNX Runtime, Protobuf, System.CommandLine). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(libonnx-testdata python3-pip python3-torch python3-torchvision python3-onnx python3-numpy python3-scipy python3-pytest python3-distributed python3-optuna python3-matplotlib python3-pandas python3-tqdm dataset-fashion-mnist)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "bootstrap: installing ${missing[*]}" >&2
  sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi
dotnet restore OnnxGradSign.sln --verbosity quiet >&2
