"""The claim support model: a logistic regression over FEATURES, shipped as JSON.

    p(unsupported | x) = 1 / (1 + exp(-(w · (x − μ) / σ + b)))
    raised to at least ``number_floor`` when the claim states a number that no context (nor
    the question) holds: a wrong figure is the costliest kind of unsupported claim, and on
    RAGTruth QA dev 9 of the 15 answers with one were labelled hallucinated.

Trained offline by ``benchmarks/train_support_model.py`` (scikit-learn, at training time only);
evaluated here with numpy, so scoring needs neither sklearn nor a network. The JSON also holds
the shipped decision threshold and how it was chosen. Features the training procedure left
out have coefficient 0, and the judge does not compute an unused ``support_logit`` at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cujeval.errors import InputError
from cujeval.grounding.features import FEATURES

if TYPE_CHECKING:
    import numpy as np

DEFAULT_PATH = Path(__file__).with_name("support_model.json")


@dataclass(frozen=True)
class SupportModel:
    """Standardisation, coefficients and decision threshold of the claim support model."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    number_floor: float = 0.5
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.features)
        if not (len(self.mean) == len(self.scale) == len(self.coef) == n):
            raise ValueError("mean, scale and coef must each have one value per feature")
        if any(s <= 0 for s in self.scale):
            raise ValueError("scale values must be positive")
        for name in ("threshold", "number_floor"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} {getattr(self, name)} is not within 0..1")

    def weighs(self, feature: str) -> bool:
        """Whether ``feature`` moves the probability at all (a non-zero coefficient)."""
        return feature in self.features and self.coef[self.features.index(feature)] != 0.0

    def unsupported_probability(self, x: np.ndarray) -> np.ndarray:
        """p(unsupported) for each row of ``x`` (claims × features)."""
        import numpy as np

        x = np.asarray(x, dtype=np.float64)
        logits = ((x - self.mean) / self.scale) @ np.asarray(self.coef) + self.intercept
        p = 1.0 / (1.0 + np.exp(-logits))
        if "missing_numbers" in self.features:
            stated = x[:, self.features.index("missing_numbers")] > 0
            p = np.where(stated, np.maximum(p, self.number_floor), p)
        out: np.ndarray = p
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "threshold": self.threshold,
            "number_floor": self.number_floor,
            "info": dict(self.info),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SupportModel:
        return cls(
            features=tuple(str(f) for f in data["features"]),
            mean=tuple(float(v) for v in data["mean"]),
            scale=tuple(float(v) for v in data["scale"]),
            coef=tuple(float(v) for v in data["coef"]),
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
            number_floor=float(data.get("number_floor", 0.5)),
            info=dict(data.get("info", {})),
        )


def load(path: str | Path = DEFAULT_PATH) -> SupportModel:
    """Read a support model JSON; its features must be exactly :data:`FEATURES`, in order."""
    try:
        model = SupportModel.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InputError(f"not a support model: {exc}", file=path) from None
    if model.features != FEATURES:
        raise InputError(
            f"features {list(model.features)} differ from this version's {list(FEATURES)}",
            file=path,
            field="features",
        )
    return model


@lru_cache(maxsize=1)
def default_model() -> SupportModel:
    """The shipped model (read once per process)."""
    return load(DEFAULT_PATH)
