"""How arrays become (pointer, byte count, dtype code, shape) for the C ABI, and back.

NumPy arrays (and any object with the buffer protocol) are read in place when C-contiguous and
little-endian; other layouts are copied once into a contiguous array. PyTorch CPU tensors are read
in place through `data_ptr()`, whatever their dtype (bf16 and fp8 included). torch is never
imported here: a tensor is recognised by its type's module.
"""

import sys

import numpy as np

# Store dtype codes (docs/FORMAT.md) by NumPy dtype name. bfloat16 and the float8 names are the
# ml_dtypes ones, used only if such arrays are passed in.
NUMPY_CODES = {
    "float32": 1, "float64": 2, "float16": 3, "bfloat16": 4, "int8": 5, "int16": 6,
    "int32": 7, "int64": 8, "uint8": 9, "bool": 10, "uint16": 11, "uint32": 12, "uint64": 13,
    "float8_e4m3fn": 14, "float8_e5m2": 15, "float8_e8m0fnu": 16, "float8_e4m3fnuz": 17,
    "float8_e5m2fnuz": 18, "complex64": 19,
}

TORCH_CODES = {
    "float32": 1, "float64": 2, "float16": 3, "bfloat16": 4, "int8": 5, "int16": 6,
    "int32": 7, "int64": 8, "uint8": 9, "bool": 10, "uint16": 11, "uint32": 12, "uint64": 13,
    "float8_e4m3fn": 14, "float8_e5m2": 15, "float8_e8m0fnu": 16, "float8_e4m3fnuz": 17,
    "float8_e5m2fnuz": 18, "complex64": 19,
}

DTYPE_NAMES = {
    1: "float32", 2: "float64", 3: "float16", 4: "bfloat16", 5: "int8", 6: "int16", 7: "int32",
    8: "int64", 9: "uint8", 10: "bool", 11: "uint16", 12: "uint32", 13: "uint64",
    14: "float8_e4m3", 15: "float8_e5m2", 16: "float8_e8m0", 17: "float8_e4m3fnuz",
    18: "float8_e5m2fnuz", 19: "complex64", 20: "float4", 21: "float6_e2m3", 22: "float6_e3m2",
}

# Store dtypes NumPy has no type for come back as unsigned integers of the same width (the bits
# unchanged), unless ml_dtypes provides the type.
_RAW_STANDIN = {4: "uint16", 14: "uint8", 15: "uint8", 16: "uint8", 17: "uint8", 18: "uint8"}
_ML_DTYPES = {4: "bfloat16", 14: "float8_e4m3fn", 15: "float8_e5m2", 16: "float8_e8m0fnu",
              17: "float8_e4m3fnuz", 18: "float8_e5m2fnuz"}
_TORCH_NAMES = {code: name for name, code in TORCH_CODES.items()}


def is_torch_tensor(value):
    """Whether `value` is a torch.Tensor (without importing torch)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


class Borrowed:
    """An array's bytes as the C ABI reads them; `keep` holds what owns the memory."""

    __slots__ = ("pointer", "nbytes", "code", "shape", "keep")

    def __init__(self, pointer, nbytes, code, shape, keep):
        self.pointer = pointer
        self.nbytes = nbytes
        self.code = code
        self.shape = shape
        self.keep = keep


def borrow(name, value):
    """The bytes of `value` in place where possible (see the module doc)."""
    if is_torch_tensor(value):
        return _borrow_torch(name, value)
    array = np.asarray(value)
    code = NUMPY_CODES.get(array.dtype.name)
    if code is None:
        raise TypeError(f"tensor '{name}': NumPy dtype {array.dtype} has no store dtype")
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    if not array.flags.c_contiguous:
        array = np.ascontiguousarray(array)
    return Borrowed(array.ctypes.data, array.nbytes, code, array.shape, array)


def _borrow_torch(name, tensor):
    tensor = tensor.detach()
    if tensor.device.type != "cpu":
        tensor = tensor.cpu()
    if tensor.is_complex():
        tensor = tensor.resolve_conj()
    tensor = tensor.resolve_neg()
    if not tensor.is_contiguous():
        tensor = tensor.contiguous()
    dtype_name = str(tensor.dtype).removeprefix("torch.")
    code = TORCH_CODES.get(dtype_name)
    if code is None:
        raise TypeError(f"tensor '{name}': torch dtype {tensor.dtype} has no store dtype")
    nbytes = tensor.numel() * tensor.element_size()
    return Borrowed(tensor.data_ptr(), nbytes, code, tuple(tensor.shape), tensor)


def snapshot(value):
    """A private copy of an array or tensor, for a commit that runs after the caller moves on."""
    if is_torch_tensor(value):
        return value.detach().to("cpu", copy=True).contiguous()
    return np.array(value, copy=True, order="C")


def numpy_dtype(code):
    """The NumPy dtype a store dtype comes back as (see `_RAW_STANDIN`), or None for the packed
    sub-byte floats (which come back as their raw bytes)."""
    name = DTYPE_NAMES[code]
    if code in _ML_DTYPES:
        try:
            import ml_dtypes

            return np.dtype(getattr(ml_dtypes, _ML_DTYPES[code]))
        except (ImportError, AttributeError):
            return np.dtype(_RAW_STANDIN[code])
    if code >= 20:
        return None
    return np.dtype(name)


def empty_numpy(code, shape, nbytes):
    """An uninitialised NumPy array to read a stored tensor into."""
    dtype = numpy_dtype(code)
    if dtype is None:
        return np.empty(nbytes, dtype=np.uint8)
    return np.empty(shape, dtype=dtype)


def torch_dtype(code):
    """The torch dtype of a store dtype, or None if torch has none."""
    import torch

    name = _TORCH_NAMES.get(code)
    return getattr(torch, name, None) if name else None


def writable_target(name, out):
    """(pointer, byte count, array) of a caller's output buffer, checked to be contiguous and
    writable; the store checks the byte count against the tensor's."""
    if is_torch_tensor(out):
        if out.device.type != "cpu" or not out.is_contiguous():
            raise ValueError(f"tensor '{name}': out= must be a contiguous CPU tensor")
        return out.data_ptr(), out.numel() * out.element_size(), out
    array = np.asarray(out)
    if not array.flags.c_contiguous or not array.flags.writeable:
        raise ValueError(f"tensor '{name}': out= must be a writable C-contiguous array")
    return array.ctypes.data, array.nbytes, array
