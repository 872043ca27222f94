#!/usr/bin/python3
"""Writes DIR/generator.onnx from the TorchScript generator of `acgan export --torchscript DIR`
(LibTorch has no ONNX exporter, so this uses python3-torch's torch.onnx), with a dynamic batch:
input "z" (N, nz) float32 with the one-hot class in its first entries, output "images"
(N, 3, 32, 32) in [-1, 1]. Then it checks the file: with onnxruntime installed it runs both on the
same noise and requires them to agree within 1e-5; without, it checks the graph with the onnx
package where that is installed, and says which check it made.

Usage: scripts/export_onnx.py DIR   (needs python3-torch: apt-get install python3-torch)
"""
import os
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip())
    folder = sys.argv[1]
    source = os.path.join(folder, "generator.pt")
    target = os.path.join(folder, "generator.onnx")
    if not os.path.exists(source):
        sys.exit(f"export_onnx: error: {source} is missing; run acgan export --torchscript first")
    try:
        import torch
    except ImportError:
        sys.exit("export_onnx: error: needs python3-torch (apt-get install python3-torch)")
    generator = torch.jit.load(source)
    torch.manual_seed(0)
    z = torch.randn(4, generator.nz)
    # G(z, classes) for every family (acgan export --torchscript, format 2).
    inputs = {"z": z, "classes": torch.arange(4) % generator.num_classes}
    torch.onnx.export(generator, tuple(inputs.values()), target, input_names=list(inputs),
                      output_names=["images"],
                      dynamic_axes={**{name: {0: "batch"} for name in inputs}, "images": {0: "batch"}},
                      opset_version=13)
    try:
        import onnxruntime
        session = onnxruntime.InferenceSession(target, providers=["CPUExecutionProvider"])
        (images,) = session.run(None, {name: value.numpy() for name, value in inputs.items()})
        error = (torch.from_numpy(images) - generator(*inputs.values())).abs().max().item()
        if error > 1e-5:
            sys.exit(f"export_onnx: error: onnxruntime's images differ by {error}")
        print(f"wrote {target}: onnxruntime's images agree with TorchScript's (max |diff| {error:.1e})")
        return
    except ImportError:
        pass
    try:
        import onnx
        onnx.checker.check_model(onnx.load(target))
        print(f"wrote {target}: onnx.checker accepts it (no onnxruntime to run it)")
    except ImportError:
        print(f"wrote {target}: neither onnxruntime nor onnx is installed, so it was not checked")


if __name__ == "__main__":
    main()
