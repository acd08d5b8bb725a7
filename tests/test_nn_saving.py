"""nn.save / nn.load: an exact round trip, a readable file, and a clear error for every kind of bad file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import nn
from autograd import Value


@pytest.fixture
def model() -> nn.MLP:
    """A trained-looking model: weights with long decimal expansions, as training leaves them."""
    m = nn.MLP(3, [5, 4, 2], activation="tanh", seed=7)
    rng = np.random.default_rng(0)
    for p in m.parameters():
        p.data = float(rng.normal()) / 3.0
    return m


def test_round_trip_is_bit_for_bit(model: nn.MLP, tmp_path: Path) -> None:
    path = nn.save(model, tmp_path / "model.json")
    loaded = nn.load(path)
    assert isinstance(loaded, nn.MLP) and repr(loaded) == repr(model)
    assert loaded.state_dict() == model.state_dict()
    for x in ([0.1, -2.0, 3.5], [1e-3, 7.0, -0.25]):
        assert [v.data for v in loaded(x)] == [v.data for v in model(x)]
    # a fresh graph: training the copy does not touch the original
    loaded.layers[0].neurons[0].w[0].data += 1.0
    assert loaded.state_dict() != model.state_dict()


def test_one_output_and_relu_round_trip(tmp_path: Path) -> None:
    model = nn.MLP(2, [16, 16, 1], activation="relu", seed=3)
    loaded = nn.load(nn.save(model, tmp_path / "moons.json"))
    x = [Value(0.3), Value(-0.7)]
    assert isinstance(loaded(x), Value) and loaded(x).data == model(x).data


def test_the_file_is_readable_json(model: nn.MLP, tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    nn.save(model, path, metadata={"data": "iris", "note": "trained for the test"})
    document = json.loads(path.read_text())
    assert document["format"] == "chainrule.nn.MLP" and document["version"] == 1
    assert (document["nin"], document["nouts"], document["activation"]) == (3, [5, 4, 2], "tanh")
    assert list(document["parameters"]) == [p.label for p in model.parameters()]
    assert document["parameters"]["L2.n3.w1"] == model.layers[1].neurons[2].w[0].data
    loaded, metadata = nn.load(path, with_metadata=True)
    assert metadata == {"data": "iris", "note": "trained for the test"}
    assert nn.load(nn.save(model, tmp_path / "plain.json"), with_metadata=True)[1] == {}


def _saved(model: nn.MLP, tmp_path: Path) -> tuple[Path, dict]:
    path = nn.save(model, tmp_path / "model.json")
    return path, json.loads(path.read_text())


def _write(path: Path, document: dict) -> Path:
    path.write_text(json.dumps(document))
    return path


def _edit(key: str, value: object):
    def change(document: dict) -> None:
        document[key] = value

    return change


def _edit_parameters(change):
    def apply(document: dict) -> None:
        change(document["parameters"])

    return apply


BAD_DOCUMENTS = [
    (_edit("version", 2), r"format version 2 is not supported \(this chainrule reads version 1\)"),
    (_edit("format", "keras"), r"not a chainrule model file \(format 'keras'"),
    (lambda d: d.pop("activation"), r"missing field\(s\) 'activation'"),
    (_edit("nin", 0), r"'nin' must be a positive int, got 0"),
    (_edit("nouts", [5, "4", 2]), r"'nouts' must be a non-empty list of positive ints"),
    (_edit("nouts", [5, 4, 3]), r"missing 'L3.n3.w1'"),  # wrong sizes: the parameters do not fit
    (_edit("nouts", [5, 4]), r"unexpected 'L3.n1.w1'"),
    (_edit("activation", "softmax"), r"unknown activation 'softmax'"),
    (_edit("parameters", [1.0, 2.0]), r"'parameters' must be a JSON object"),
    (_edit_parameters(lambda p: p.pop("L1.n2.b")), r"missing 'L1.n2.b'"),
    (_edit_parameters(lambda p: p.update({"L9.n1.w1": 0.5})), r"unexpected 'L9.n1.w1'"),
    (_edit_parameters(lambda p: p.update({"L1.n1.w1": "0.5"})), r"parameter L1.n1.w1 must be a real number .*got str"),
    (_edit_parameters(lambda p: p.update({"L1.n1.w1": None})), r"parameter L1.n1.w1 must be a real number"),
]


@pytest.mark.parametrize("change, message", BAD_DOCUMENTS)
def test_bad_documents_are_value_errors_naming_the_file(model: nn.MLP, tmp_path: Path, change, message: str) -> None:
    path, document = _saved(model, tmp_path)
    change(document)
    _write(path, document)
    with pytest.raises(ValueError, match=message) as info:
        nn.load(path)
    assert str(info.value).startswith(f"{path}: ")


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "the file is empty"),
        ("   \n", "the file is empty"),
        ("hello", r"not valid JSON: Expecting value \(line 1, column 1\)"),
        ("[1, 2]", r"a saved model is a JSON object, got a JSON list"),
        ('{"format": "chainrule.nn.MLP", "version": 1, "nin": 2, "nouts": [1], "activation": "relu", "parameters": {"L1.n1.w1": NaN',
         r"holds NaN, which is not a valid weight"),
    ],
)
def test_bad_texts_are_value_errors_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as info:
        nn.load(path)
    assert str(info.value).startswith(f"{path}: ")


@pytest.mark.parametrize("fraction", [0.3, 0.5, 0.99])
def test_truncated_file_says_so(model: nn.MLP, tmp_path: Path, fraction: float) -> None:
    path, _ = _saved(model, tmp_path)
    text = path.read_text()
    for cut in range(int(fraction * len(text)), int(fraction * len(text)) + 8):  # whatever the cut falls on
        path.write_text(text[:cut])
        with pytest.raises(ValueError, match=r"model.json: not valid JSON \(the file looks truncated\)"):
            nn.load(path)


@pytest.mark.parametrize("token, message", [("NaN", "holds NaN"), ("Infinity", "holds Infinity"), ("-Infinity", "holds -Infinity"),
                                            ("1e999", "parameter L1.n1.b must be finite, got inf")])
def test_non_finite_weights_are_refused(model: nn.MLP, tmp_path: Path, token: str, message: str) -> None:
    path, document = _saved(model, tmp_path)
    text = path.read_text().replace(json.dumps(document["parameters"]["L1.n1.b"]), token, 1)
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        nn.load(path)


def test_binary_garbage_and_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="not UTF-8 text"):
        nn.load(path)
    with pytest.raises(FileNotFoundError):
        nn.load(tmp_path / "nowhere.json")


def test_save_refuses_what_cannot_be_reloaded(model: nn.MLP, tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "model.json"
    with pytest.raises(TypeError, match="save\\(\\) writes an nn.MLP, got Layer"):
        nn.save(model.layers[0], path)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="metadata cannot be written as JSON"):
        nn.save(model, path, metadata={"array": np.zeros(2)})
    # A NaN weight (the engine may refuse to store one at all; save checks anyway)
    state = {**model.state_dict(), "L2.n1.b": float("nan")}
    monkeypatch.setattr(model, "state_dict", lambda: state)
    with pytest.raises(ValueError, match="parameter L2.n1.b is nan"):
        nn.save(model, path)
    assert not path.exists()  # nothing written


def test_load_state_dict_from_a_loaded_file_matches_nn_load(model: nn.MLP, tmp_path: Path) -> None:
    path = nn.save(model, tmp_path / "model.json")
    twin = nn.MLP(3, [5, 4, 2], activation="tanh", seed=0)
    twin.load_state_dict(json.loads(path.read_text())["parameters"])
    assert twin.state_dict() == nn.load(path).state_dict()


# ---------------------------------------------------------------------------------------------------
# hand-edited files: checked against themselves before anything is built (issue 17, items 12 and 13)
# ---------------------------------------------------------------------------------------------------
def test_labels_and_count_without_building_are_the_models(model: nn.MLP) -> None:
    from nn.module import mlp_parameter_count, mlp_parameter_labels

    for nin, nouts in ((3, [5, 4, 2]), (1, [1]), (4, [8, 3]), (2, [16, 16, 1])):
        built = nn.MLP(nin, nouts, seed=0)
        assert list(mlp_parameter_labels(nin, nouts)) == list(built.state_dict())
        assert mlp_parameter_count(nin, nouts) == len(built.parameters())


def test_a_small_file_claiming_a_huge_network_is_refused_before_building(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "huge.json"
    path.write_text(json.dumps({"format": "chainrule.nn.MLP", "version": 1, "nin": 5000, "nouts": [5000],
                                "activation": "relu", "parameters": {}}))
    assert path.stat().st_size < 130

    def never(*args, **kwargs):  # noqa: ANN002, ANN003
        raise AssertionError("nn.load built a network before checking the file")

    monkeypatch.setattr("nn.saving.MLP", never)
    with pytest.raises(ValueError, match=r"make a network of 25,005,000 parameters, but the file holds 0") as info:
        nn.load(path)
    assert str(info.value).startswith(f"{path}: ")


def _with_token(model: nn.MLP, tmp_path: Path, key: str, token: str) -> Path:
    """The saved model with the JSON text of field ``key`` (or of parameter ``key``) replaced by ``token``."""
    path, document = _saved(model, tmp_path)
    if key in document:
        document[key] = "@TOKEN@"
    else:
        document["parameters"][key] = "@TOKEN@"
    path.write_text(json.dumps(document).replace('"@TOKEN@"', token))
    return path


@pytest.mark.parametrize(
    "key, token, message",
    [
        ("L1.n2.w1", "1" + "0" * 400, r"parameter L1.n2.w1 must be a finite float, got an int too large for a float"),
        ("L1.n2.w1", "7" * 5000, r"the file holds an integer of 5,000 digits \(far too large for a float\)"),
        ("L1.n2.w1", "-1e400", r"parameter L1.n2.w1 must be finite, got -inf"),
        ("L1.n2.w1", "[0.5]", r"parameter L1.n2.w1 must be a real number .*got list"),
        ("L1.n2.w1", "{}", r"parameter L1.n2.w1 must be a real number .*got dict"),
        ("L1.n2.w1", "[" * 100_000 + "]" * 100_000, r"the JSON is nested too deeply"),
        ("nin", "1" + "0" * 400, r"its sizes \(MLP about 10\^400 -> 5 -> 4 -> 2\) make a network of about 10\^400 parameters"),
        ("nouts", "[5, 4, " + "9" * 300 + "]", r"make a network of about 10\^300 parameters, but the file holds 54"),
        ("nouts", "[5, 4, 2, 2]", r"\(60 parameters; the file holds 54\): missing 'L4.n1.w1'"),
    ],
)
def test_hand_edited_numbers_are_value_errors_naming_the_file(model, tmp_path, key, token, message) -> None:
    path = _with_token(model, tmp_path, key, token)
    with pytest.raises(ValueError, match=message) as info:
        nn.load(path)
    assert str(info.value).startswith(f"{path}: ")


def test_load_state_dict_with_a_huge_int_names_the_label_and_changes_nothing() -> None:
    model = nn.MLP(2, [2, 1], seed=0)
    before = model.state_dict()
    state = dict(before, **{"L2.n1.b": 10**400})
    with pytest.raises(ValueError, match=r"parameter L2.n1.b must be a finite float, got an int too large for a float"):
        model.load_state_dict(state)
    with pytest.raises(ValueError, match=r"parameter L2.n1.b .*an int of about 5001 digits"):
        model.load_state_dict(dict(before, **{"L2.n1.b": 10**5000}))
    assert model.state_dict() == before


@pytest.mark.parametrize("make", [lambda p, x: nn.SGD(p, lr=x), lambda p, x: nn.SGD(p, lr=0.1, momentum=x),
                                  lambda p, x: nn.Adam(p, lr=x), lambda p, x: nn.Adam(p, eps=x)])
def test_optimizer_settings_too_large_for_a_float_are_value_errors_naming_them(make) -> None:
    params = nn.MLP(2, [1], seed=0).parameters()
    for huge in (10**400, 10**5000):
        with pytest.raises(ValueError, match=r"(lr|momentum|eps) must be a finite float, got an int too large"):
            make(params, huge)


def test_set_weights_with_huge_ints_names_the_layer_and_changes_nothing() -> None:
    model = nn.MLP(2, [2, 1], seed=0)
    before = model.state_dict()
    layer = model.layers[0]
    with pytest.raises(ValueError, match=r"layer L1: W holds an int too large for a float"):
        layer.set_weights([[1.0, 10**400], [0.0, 0.0]])
    with pytest.raises(ValueError, match=r"layer L1: b holds an int too large for a float"):
        layer.set_weights(np.zeros((2, 2)), [0, 10**400])
    with pytest.raises(ValueError, match=r"layer L2: W holds an int too large for a float"):
        model.set_weights([(np.zeros((2, 2)), np.zeros(2)), ([[10**400], [0]], [0.0])])
    assert model.state_dict() == before


def test_data_and_noise_too_large_for_a_float_are_value_errors() -> None:
    with pytest.raises(ValueError, match=r"make_moons: noise must be a finite number >= 0 .*got 1000"):
        nn.make_moons(10, noise=10**400)
    with pytest.raises(ValueError, match=r"make_moons: noise must be a finite number >= 0 .*an int far too large"):
        nn.make_moons(10, noise=10**5000)
    model = nn.MLP(2, [1], seed=0)
    with pytest.raises(ValueError, match=r"forward_numpy: X holds an int too large for a float"):
        model.forward_numpy([[1, 10**400]])
    with pytest.raises(ValueError, match=r"fit: X holds an int too large for a float"):
        nn.fit(model, [[1, 10**400], [0, 0]], [0, 1], epochs=1, loss="hinge", progress=False)
