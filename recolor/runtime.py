"""Run the two networks for inference through a CPU runtime: OpenVINO (default), ONNX Runtime,
or plain PyTorch.

``accelerate(model, weights, channels)`` turns a loaded generator into a stand-in with the same
call signature (float32 NCHW tensor in, float32 NCHW tensor out) and the same plain attributes
(``config``, ``render_factor``, ...), so ``models/*.colorize`` run it unchanged. The network is
exported from the loaded weights, which stay the source of truth, at first load, with dynamic
batch and spatial axes (any render factor or working size), and cached in ``cache_dir()`` under
a name keyed by the weights' sha256, the model code's sha256, the runtime and its version.

``RECOLOR_RUNTIME`` picks the runtime: ``openvino`` (the default: the fastest on this CPU,
``benchmarks/runtime.py``), ``onnxruntime`` or ``torch`` (training, comparison). Where the
runtime's package is missing, or the export fails, the torch model is used with a one-line
notice on stderr. A model on a GPU always stays in torch.
"""
from __future__ import annotations

import copy
import dataclasses
import os
import sys
import threading
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from .weightfiles import sha256_of

RUNTIMES = ("openvino", "onnxruntime", "torch")
DEFAULT = "openvino"
EXPORT_VERSION = 1  # bump when the export below changes what it writes
# The traced input's side: 66 halves to 33, 17, 9, 5, 3, odd at every level, so the decoder's
# "resize the upsampled map when its size differs from the skip's" step is traced at every
# level (with the skip's size taken from the input's shape, a no-op where the sizes agree).
TRACE_SIDE = 66
Runner = Callable[[np.ndarray], np.ndarray]


def requested() -> str:
    """The runtime ``RECOLOR_RUNTIME`` asks for (default ``openvino``)."""
    name = os.environ.get("RECOLOR_RUNTIME", "").strip().lower() or DEFAULT
    if name not in RUNTIMES:
        raise ValueError(f"RECOLOR_RUNTIME={name!r}: choose one of {', '.join(RUNTIMES)}")
    return name


def cache_dir() -> Path:
    """Where exported networks are kept: ``RECOLOR_CACHE``, else ``$XDG_CACHE_HOME/recolor``,
    else ``~/.cache/recolor``."""
    if os.environ.get("RECOLOR_CACHE"):
        return Path(os.environ["RECOLOR_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "recolor"


def notice(message: str) -> None:
    print(f"recolor: {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- the stand-in

_PLAIN = (bool, int, float, str, tuple, list, dict, type(None))


class Compiled(nn.Module):
    """A generator compiled by a runtime: ``forward`` takes and returns float32 NCHW CPU
    tensors like the torch model did. Its one parameter is empty: it only tells callers that
    read ``next(model.parameters())`` the device and dtype to feed (CPU, float32)."""

    def __init__(self, model: nn.Module, runner: Runner, runtime: str, path: Path):
        super().__init__()
        self.anchor = nn.Parameter(torch.empty(0), requires_grad=False)
        for k, v in vars(model).items():  # config, multiple, render_factor, saturation, ...
            if not k.startswith("_") and k != "training" and (
                    isinstance(v, _PLAIN) or dataclasses.is_dataclass(v)):  # e.g. `settings`
                setattr(self, k, v)
        self.runner, self.runtime, self.path = runner, runtime, path
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32)
        return torch.from_numpy(self.runner(a))

    def extra_repr(self) -> str:
        return f"runtime={self.runtime}, file={self.path.name}"


# ----------------------------------------------------------------------------- export

def exportable(model: nn.Module) -> nn.Module:
    """A copy of ``model`` that traces to standard ops: every Conv2d subclass (DeOldify's
    NNPACK ``WinogradConv2d``) becomes a plain Conv2d sharing its weights, in NCHW."""
    m = copy.deepcopy(model).eval().to(memory_format=torch.contiguous_format)
    from .models.deoldify_fast import out_of_place_ops  # noqa: PLC0415
    out_of_place_ops(m)  # DeOldify's in-place inference ops do not trace; a no-op for pix2pix
    for mod in list(m.modules()):
        for name, c in list(mod.named_children()):
            if isinstance(c, nn.Conv2d) and type(c) is not nn.Conv2d:
                plain = nn.Conv2d(c.in_channels, c.out_channels, c.kernel_size, c.stride,
                                  c.padding, c.dilation, c.groups, c.bias is not None,
                                  c.padding_mode, device="meta")
                plain.weight, plain.bias = c.weight, c.bias
                setattr(mod, name, plain)
    if hasattr(m, "memory_format"):  # DeOldify's DynamicUnet converts its input to it
        m.memory_format = torch.contiguous_format
    return m.requires_grad_(False)


def trace(model: nn.Module, channels: int) -> torch.jit.ScriptModule:
    """``model`` traced on a (1, channels, 66, 66) input. Traced with autograd on (no
    parameter needs it), so the modules take their out-of-place branches: the in-place ones
    that DeOldify uses for inference write into slices, which the exporters do not convert."""
    example = torch.randn(1, channels, TRACE_SIDE, TRACE_SIDE,
                          generator=torch.Generator().manual_seed(0))
    with warnings.catch_warnings(), torch.enable_grad():
        warnings.simplefilter("ignore")  # TracerWarnings: the shape test above, by design
        return torch.jit.trace(exportable(model), example, check_trace=False)


class OpenVINO:
    """OpenVINO: converted from the traced module (no ONNX step), saved as IR (.xml + .bin)."""
    name, suffix = "openvino", ".xml"

    @staticmethod
    def version() -> str:
        import openvino as ov  # noqa: PLC0415 - optional package
        return ov.__version__.split("-")[0]

    @staticmethod
    def export(traced: torch.jit.ScriptModule, channels: int, out: Path) -> None:
        import openvino as ov  # noqa: PLC0415
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = ov.convert_model(traced, input=[ov.PartialShape([-1, channels, -1, -1])])
        tmp = out.with_name(f".{out.stem}.{os.getpid()}.{threading.get_ident()}")
        ov.save_model(m, tmp.with_suffix(".xml"), compress_to_fp16=False)  # weights stay fp32
        keep_f32(tmp.with_suffix(".xml"), stem_ops(m, channels))
        os.replace(tmp.with_suffix(".bin"), out.with_suffix(".bin"))
        os.replace(tmp.with_suffix(".xml"), out)  # last: its presence means both are complete

    @staticmethod
    def load(path: Path, threads: int, precision: str | None) -> Runner:
        """A thread-safe runner (``Shapes``). ``precision``: None, the CPU's default (bf16
        where the CPU has it, but the stem in f32: ``stem_ops``); "f32" forces f32 throughout."""
        config: dict[str, Any] = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"}
        if precision:
            config["INFERENCE_PRECISION_HINT"] = precision
        return Shapes(path, config)


class Shapes:
    """OpenVINO's network for every input shape: the dynamic-shape model for a shape seen once,
    and, from its second call on, a model compiled for that one static shape, which runs faster
    (DeOldify at 224² and 288², one thread: about 1.3x, ``benchmarks/runtime.py``) and compiles
    in about 0.2 s. The app asks for few shapes (DeOldify's render sizes; pix2pix's working
    size for each aspect ratio; a video's frames), so at most ``MAX_STATIC`` are kept; shapes
    beyond that stay on the dynamic model. Each calling thread gets its own infer requests."""
    MAX_STATIC = 12

    def __init__(self, path: Path, config: dict[str, Any]):
        import openvino as ov  # noqa: PLC0415 - optional package
        self.core, self.path, self.config = ov.Core(), path, config
        self.compiled = self.core.compile_model(self.core.read_model(path), "CPU", config)
        self.static: dict[tuple[int, ...], Any] = {}
        self.seen: dict[tuple[int, ...], int] = {}
        self.lock, self.local = threading.Lock(), threading.local()

    def model_for(self, shape: tuple[int, ...]) -> Any:
        with self.lock:
            if shape in self.static:
                return self.static[shape]
            self.seen[shape] = self.seen.get(shape, 0) + 1
            if self.seen[shape] < 2 or len(self.static) >= self.MAX_STATIC:
                return self.compiled
            model = self.core.read_model(self.path)  # keeps the stem's f32 marks
            model.reshape(list(shape))
            self.static[shape] = self.core.compile_model(model, "CPU", self.config)
            return self.static[shape]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        compiled = self.model_for(tuple(x.shape))
        requests = self.local.__dict__.setdefault("requests", {})
        request = requests.get(id(compiled))
        if request is None:
            request = requests[id(compiled)] = compiled.create_infer_request()
        request.infer({0: x})
        return request.get_output_tensor(0).data.copy()


PROBE = 64  # the probe input's side for stem_ops


def stem_ops(model: Any, channels: int) -> set[str]:
    """Names of the ops that run before the network first reaches a quarter of its input's
    resolution (probed at 64x64): the encoder's stem, whose outputs also feed the decoder's
    last, full-resolution skip. In bf16 their rounding reached the output almost unchanged
    (DeOldify slim at 288 px: RMS error 0.050 on its [-3, 3] output; 0.004 with the stem in
    f32, for under 2 % more time); the rest of the network runs in bf16 at full speed."""
    probe = model.clone()
    probe.reshape([1, channels, PROBE, PROBE])
    names: set[str] = set()
    for op in probe.get_ordered_ops():
        if op.get_type_name() in ("Constant", "Parameter"):
            continue
        shapes = [o.get_partial_shape() for o in op.outputs()]
        if any(s.rank.is_static and s.rank.get_length() == 4 and s[2].is_static
               and s[2].get_length() <= PROBE // 4 for s in shapes):
            break
        names.add(op.get_friendly_name())
    return names


def keep_f32(xml: Path, names: set[str]) -> None:
    """Mark the IR's layers named ``names`` to keep their precision under a lower inference
    precision: OpenVINO's ``precise`` runtime attribute, which the IR reader turns into its
    DisablePrecisionConversion marker (Python cannot set that marker on a live model)."""
    import xml.etree.ElementTree as ET  # noqa: PLC0415

    tree = ET.parse(xml)
    for layer in tree.getroot().iter("layer"):
        if layer.get("name") in names:
            rt = layer.find("rt_info")
            rt = ET.SubElement(layer, "rt_info") if rt is None else rt
            ET.SubElement(rt, "attribute", name="precise", version="0")
    tree.write(xml, encoding="utf-8", xml_declaration=True)


class OnnxRuntime:
    """ONNX Runtime: exported by torch's TorchScript exporter (needs the ``onnx`` package)."""
    name, suffix = "onnxruntime", ".onnx"

    @staticmethod
    def version() -> str:
        import onnxruntime as ort  # noqa: PLC0415 - optional package
        return ort.__version__

    @staticmethod
    def export(traced: torch.jit.ScriptModule, channels: int, out: Path) -> None:
        import onnx  # noqa: F401, PLC0415 - torch's exporter needs it; fail early and clearly
        x = torch.zeros(1, channels, TRACE_SIDE, TRACE_SIDE)
        axes = {0: "batch", 2: "height", 3: "width"}
        tmp = out.with_name(f".{out.stem}.{os.getpid()}.{threading.get_ident()}.onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation warning
            torch.onnx.export(traced, (x,), str(tmp), dynamo=False, opset_version=17,
                              input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": axes, "y": axes})
        os.replace(tmp, out)

    @staticmethod
    def load(path: Path, threads: int, precision: str | None) -> Runner:
        """ONNX Runtime sessions are thread-safe; fp32 (``precision`` is not used)."""
        import onnxruntime as ort  # noqa: PLC0415
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        return lambda x: session.run(None, {"x": x})[0]


BACKENDS = {b.name: b for b in (OpenVINO, OnnxRuntime)}
_export_lock = threading.Lock()


def exported(model: nn.Module, weights: Path, channels: int, runtime: str) -> Path:
    """The cached export of ``model`` (loaded from ``weights``) for ``runtime``; exports it
    first if the cache lacks it. Raises ImportError if the runtime's package is missing."""
    backend = BACKENDS[runtime]
    code = sys.modules[type(model).__module__].__file__ or ""
    key = "-".join((sha256_of(weights)[:16], sha256_of(code)[:8], f"c{channels}",
                    f"{runtime}{backend.version()}", f"x{EXPORT_VERSION}"))
    out = cache_dir() / f"{Path(weights).stem}-{key}{backend.suffix}"
    with _export_lock:
        if not out.is_file():
            out.parent.mkdir(parents=True, exist_ok=True)
            backend.export(trace(model, channels), channels, out)
    return out


def accelerate(model: nn.Module, weights: str | os.PathLike, channels: int,
               runtime: str | None = None, threads: int | None = None,
               precision: str | None = None,
               calibrate: Callable[[nn.Module], None] | None = None) -> nn.Module:
    """``model`` run by ``runtime`` (default: ``requested()``) as a ``Compiled`` stand-in, or
    ``model`` itself for ``torch``, a GPU model, or a runtime that is missing or fails to
    export (with a one-line notice). ``channels``: the network's input channels (pix2pix's L:
    1; DeOldify's RGB: 3). ``threads``: the runtime's threads (default: torch's).
    ``precision`` (default ``RECOLOR_PRECISION``): OpenVINO's inference precision, the CPU's
    own by default (bf16 where it has it); "f32" forces full precision; "int8" runs an int8
    network (``recolor.quantize``, calibrated by ``calibrate``), or bf16 with a notice where
    it cannot be made."""
    runtime = runtime or requested()
    precision = (precision or os.environ.get("RECOLOR_PRECISION", "")).strip().lower() or None
    if precision not in PRECISIONS:
        raise ValueError(f"RECOLOR_PRECISION={precision!r}: choose one of "
                         f"{', '.join(p for p in PRECISIONS if p)} (or leave it unset)")
    if runtime == "torch" or next(model.parameters()).device.type != "cpu":
        return model
    try:
        path = exported(model, Path(weights), channels, runtime)
        if precision == "int8":
            path, precision = int8(model, path, channels, runtime, calibrate), None
        runner = BACKENDS[runtime].load(path, threads or torch.get_num_threads(), precision)
    except ImportError as e:
        notice(f"{runtime} is not installed ({e.name or e}); running {Path(weights).name} in "
               "PyTorch (install it, or set RECOLOR_RUNTIME=torch)")
        return model
    except Exception as e:  # noqa: BLE001 - an unexportable network still runs in torch
        notice(f"cannot run {Path(weights).name} in {runtime} ({type(e).__name__}: {e}); "
               "running it in PyTorch")
        return model
    return Compiled(model, runner, runtime, path)


PRECISIONS = (None, "f32", "int8")


def int8(model: nn.Module, path: Path, channels: int, runtime: str,
         calibrate: Callable[[nn.Module], None] | None) -> Path:
    """The int8 network for the export ``path``; ``path`` itself (bf16), with a notice,
    where int8 cannot be made (not OpenVINO, no ``nncf``, nothing to calibrate on)."""
    from . import quantize  # noqa: PLC0415
    why = ("int8 needs RECOLOR_RUNTIME=openvino" if runtime != "openvino" else
           "no calibration photos" if calibrate is None else "")
    if not why:
        try:
            with _export_lock:
                return quantize.quantized(model, path, channels, calibrate)
        except ImportError as e:
            why = f"{e.name or e} is not installed (pip install nncf)"
        except ValueError as e:
            why = str(e)
    notice(f"cannot make an int8 {path.name.split('-')[0]} network ({why}); using the default "
           "precision")
    return path
