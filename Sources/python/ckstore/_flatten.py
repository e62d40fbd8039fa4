"""Training state (model and optimizer `state_dict()`s, extra values) as flat tensor names plus
JSON-able scalars, and back.

Names: `model/<state_dict key>`, `optimizer/state/<param name>/<key>` (the parameter's name in
the model when both objects are given, else its index in the optimizer), `extra/<key>[/<sub>…]`.
Everything that is not an array (param groups, step counters, hyper-parameters) goes into one
JSON object in the commit's metadata under SCALARS_KEY.
"""

import json
import numbers

import numpy as np

from . import _arrays

SCALARS_KEY = "ckstore.python.state"
# JSON has no tuples; torch compares param groups' betas as tuples, so they are marked.
_TUPLE = "__tuple__"


def is_array(value):
    return _arrays.is_torch_tensor(value) or isinstance(value, np.ndarray)


def state_dict(obj):
    """`obj.state_dict()` for a module or optimizer, `obj` itself for a mapping."""
    if obj is None:
        return None
    if hasattr(obj, "state_dict") and callable(obj.state_dict):
        return obj.state_dict()
    if isinstance(obj, dict):
        return obj
    raise TypeError(f"expected a state_dict() provider or a dict, got {type(obj).__name__}")


def parameter_names(model, optimizer):
    """Optimizer state-dict index → parameter name, when the live objects are given: torch numbers
    the parameters of all param groups in order, and the model names them."""
    if not (hasattr(model, "named_parameters") and hasattr(optimizer, "param_groups")):
        return {}
    by_id = {id(p): n for n, p in model.named_parameters()}
    names, index = {}, 0
    for group in optimizer.param_groups:
        for p in group["params"]:
            if id(p) in by_id:
                names[index] = by_id[id(p)]
            index += 1
    return names


def _scalar(value, where):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, tuple):
        return {_TUPLE: [_scalar(v, where) for v in value]}
    if isinstance(value, list):
        return [_scalar(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): _scalar(v, where) for k, v in value.items()}
    raise TypeError(f"{where}: cannot save a value of type {type(value).__name__}")


def flatten(model=None, optimizer=None, extra=None):
    """(tensors by name, scalars as one JSON-able dict) of a training state."""
    tensors, scalars = {}, {}
    model_state = state_dict(model)
    if model_state is not None:
        scalars["model"] = {}
        for key, value in model_state.items():
            if is_array(value):
                tensors[f"model/{key}"] = value
            else:
                scalars["model"][key] = _scalar(value, f"model/{key}")
    optim_state = state_dict(optimizer)
    if optim_state is not None:
        names = parameter_names(model, optimizer)
        state_scalars = {}
        for index, entries in optim_state.get("state", {}).items():
            pname = names.get(index, str(index))
            for key, value in entries.items():
                where = f"optimizer/state/{pname}/{key}"
                if is_array(value):
                    tensors[where] = value
                else:
                    state_scalars.setdefault(pname, {})[key] = _scalar(value, where)
        groups = []
        for group in optim_state.get("param_groups", []):
            g = {k: _scalar(v, f"optimizer/param_groups/{k}") for k, v in group.items()
                 if k != "params"}
            g["params"] = [names.get(i, str(i)) for i in group.get("params", [])]
            groups.append(g)
        scalars["optimizer"] = {"param_groups": groups, "state": state_scalars}
    extra_scalars = {}
    for key, value in (extra or {}).items():
        _flatten_extra(f"extra/{key}", value, tensors, extra_scalars, key)
    scalars["extra"] = extra_scalars
    return tensors, scalars


def _flatten_extra(name, value, tensors, scalars, key):
    if is_array(value):
        tensors[name] = value
    elif isinstance(value, dict) and value and all(is_array(v) for v in value.values()):
        for sub, v in value.items():
            tensors[f"{name}/{sub}"] = v
    else:
        scalars[key] = _scalar(value, name)


def encode(scalars):
    return json.dumps(scalars, sort_keys=True, allow_nan=True)


def decode(metadata):
    text = metadata.get(SCALARS_KEY)
    if not text:
        return {}

    def tuples(obj):
        return tuple(obj[_TUPLE]) if set(obj) == {_TUPLE} else obj

    return json.loads(text, object_hook=tuples)
