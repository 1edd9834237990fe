"""The seed tutorial's plain Keras script, ported to Keras 3: one arm, one seed, one process.

This is the "naive way" the speed benchmark compares ablab against: default ``fit``
settings, no tracking, the model code copied per variant as in the tutorial.

    python benchmarks/naive_seed.py --arm baseline --seed 0 --epochs 100 --data split.npz
"""

import argparse
import json
import time

import keras
import numpy as np

ARMS = {
    "baseline": ("random_uniform", "sigmoid", "sgd"),
    "initializer=he_normal": ("he_normal", "sigmoid", "sgd"),
    "activation=relu": ("random_uniform", "relu", "sgd"),
    "optimizer=adam": ("random_uniform", "sigmoid", "adam"),
}


def mlp_model(initializer: str, activation: str, optimizer: str) -> keras.Model:
    model = keras.Sequential()
    model.add(keras.Input(shape=(784,)))
    for _ in range(4):
        model.add(keras.layers.Dense(50, kernel_initializer=initializer))
        model.add(keras.layers.Activation(activation))
    model.add(keras.layers.Dense(10, kernel_initializer=initializer))
    model.add(keras.layers.Activation("softmax"))
    chosen = keras.optimizers.SGD(learning_rate=0.001) if optimizer == "sgd" else keras.optimizers.Adam(0.001)
    model.compile(optimizer=chosen, loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arm", choices=sorted(ARMS), required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--data", required=True, help=".npz with x_train, y_train, x_test, y_test")
    args = parser.parse_args()

    with np.load(args.data) as data:
        x_train, y_train, x_test, y_test = (data[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    keras.utils.set_random_seed(args.seed)
    model = mlp_model(*ARMS[args.arm])
    started = time.perf_counter()
    model.fit(x_train, y_train, validation_split=0.3, epochs=args.epochs, verbose=0)
    fit_seconds = time.perf_counter() - started
    _, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(
        json.dumps(
            {"arm": args.arm, "seed": args.seed, "test_accuracy": test_accuracy, "fit_seconds": fit_seconds}
        )
    )


if __name__ == "__main__":
    main()
