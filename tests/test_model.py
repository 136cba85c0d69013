"""The paper's architecture: shapes, BN placement, activations, init and batch-size independence."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import tiny_config

from dcgan.config import Config
from dcgan.model import DCGAN, G_SLOT, build_discriminator, build_generator, d_slot, standing_statistics, step_seed
from dcgan.z import sample_z_stateless


@pytest.mark.parametrize("size", [32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_output_shapes(size: int, channels: int) -> None:
    cfg = tiny_config(image_size=size, channels=channels, gf=4, df=4)
    g, d = build_generator(cfg), build_discriminator(cfg)
    images = g(np.zeros((2, cfg.z_dim), np.float32), training=False)
    assert images.shape == (2, size, size, channels)
    assert d(images, training=False).shape == (2, 1)
    strided = [layer for layer in g.layers if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert len(strided) == int(np.log2(size // 4))  # 4×4 base doubled up to the image size
    assert all(layer.strides == (2, 2) and layer.kernel_size == (5, 5) for layer in strided)


def layer_kinds(model: keras.Model) -> list[str]:
    return [type(layer).__name__ for layer in model.layers]


def test_generator_bn_relu_tanh_no_pooling() -> None:
    g = build_generator(Config())
    kinds = layer_kinds(g)
    assert kinds == [
        "InputLayer",
        "Dense",
        "Reshape",
        "BatchNormalization",
        "ReLU",
        "Conv2DTranspose",
        "BatchNormalization",
        "ReLU",
        "Conv2DTranspose",
        "BatchNormalization",
        "ReLU",
        "Conv2DTranspose",
        "BatchNormalization",
        "ReLU",
        "Conv2DTranspose",
        "Activation",
    ]
    assert g.layers[-1].activation is keras.activations.tanh
    widths = [layer.filters for layer in g.layers if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert widths == [256, 128, 64, 3]
    assert g.get_layer("project").units == 4 * 4 * 512
    assert not any("Pool" in k for k in kinds)


def test_discriminator_bn_except_first_leaky_relu() -> None:
    d = build_discriminator(Config())
    kinds = layer_kinds(d)
    assert kinds == [
        "InputLayer",
        "Conv2D",
        "LeakyReLU",
        "Conv2D",
        "BatchNormalization",
        "LeakyReLU",
        "Conv2D",
        "BatchNormalization",
        "LeakyReLU",
        "Conv2D",
        "BatchNormalization",
        "LeakyReLU",
        "Flatten",
        "Dense",
    ]
    assert all(
        layer.negative_slope == pytest.approx(0.2) for layer in d.layers if isinstance(layer, keras.layers.LeakyReLU)
    )
    assert [layer.filters for layer in d.layers if isinstance(layer, keras.layers.Conv2D)] == [64, 128, 256, 512]
    assert not any("Pool" in k for k in kinds)


def test_paper_widths_selectable() -> None:
    g = build_generator(Config(gf=128))
    assert g.get_layer("project").units == 4 * 4 * 1024


def test_init_statistics() -> None:
    cfg = Config()
    for model in (build_generator(cfg), build_discriminator(cfg)):
        for variable in model.trainable_variables:
            values = np.asarray(variable)
            if variable.path.endswith("kernel"):
                assert abs(values.mean()) < 0.002 and values.std() == pytest.approx(0.02, rel=0.1), variable.path
            elif variable.path.endswith("gamma"):
                assert values.mean() == pytest.approx(1.0, abs=0.01) and values.std() == pytest.approx(0.02, rel=0.3)
            else:  # biases and BN beta start at zero
                assert np.all(values == 0), variable.path


def test_optimizers_follow_the_paper() -> None:
    gan = DCGAN(tiny_config())
    for optimizer in (gan.g_optimizer, gan.d_optimizer):
        assert float(optimizer.learning_rate) == pytest.approx(2e-4)
        assert optimizer.beta_1 == pytest.approx(0.5)


@pytest.mark.parametrize("batch", [1, 3, 17])
def test_any_batch_size_and_independence(batch: int) -> None:
    cfg = tiny_config()
    g, d = build_generator(cfg), build_discriminator(cfg)
    z = np.random.default_rng(0).uniform(-1, 1, (batch, cfg.z_dim)).astype(np.float32)
    together = np.asarray(g(z, training=False))
    alone = np.concatenate([np.asarray(g(z[i : i + 1], training=False)) for i in range(batch)])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    logits = np.asarray(d(together, training=False))
    np.testing.assert_allclose(
        logits, np.concatenate([np.asarray(d(together[i : i + 1], training=False)) for i in range(batch)]), atol=1e-4
    )
    assert np.asarray(g(z, training=True)).shape == (batch, 32, 32, 3)  # train mode works for one image too


def test_generator_ema_follows_g_with_warm_up() -> None:
    """average ← d·average + (1 − d)·G after each G update, d = min(g_ema, (1 + t) / (10 + t))."""
    import tensorflow as tf

    gan = DCGAN(tiny_config(g_ema=0.99))
    assert [v.numpy().tolist() for v in gan.generator_ema.variables] == [
        v.numpy().tolist() for v in gan.generator.variables
    ]
    assert not gan.generator_ema.trainable_variables and gan.sampler is gan.generator_ema
    images = np.random.default_rng(0).integers(0, 255, (8, 32, 32, 3), dtype=np.uint8)
    expected = [v.numpy().astype(np.float64) for v in gan.generator.variables]
    for step in (0, 1, 1000):
        gan.train_step((tf.constant(images), tf.constant(step, tf.int64)))
        decay = min(0.99, (1 + step) / (10 + step))  # 0.1, 2/11, then the cap
        current = [v.numpy() for v in gan.generator.variables]
        expected = [decay * e + (1 - decay) * c for e, c in zip(expected, current, strict=True)]
        for average, value in zip(gan.generator_ema.variables, expected, strict=True):
            np.testing.assert_allclose(average.numpy(), value, rtol=1e-5, atol=1e-6, err_msg=average.path)
    assert any(not np.allclose(a.numpy(), c) for a, c in zip(gan.generator_ema.variables, current, strict=True))
    plain = DCGAN(tiny_config(g_ema=0.0))
    assert plain.generator_ema is None and plain.sampler is plain.generator and "g_ema" not in plain.state_variables()


def test_standing_statistics_are_the_generators_own_batch_statistics() -> None:
    import tensorflow as tf

    cfg = tiny_config()
    g = build_generator(cfg)
    z = np.random.default_rng(0).uniform(-1, 1, (256, cfg.z_dim)).astype(np.float32)

    def inference_error() -> float:  # inference mode against the batch statistics of 256 faces
        moving = [v.numpy() for v in g.non_trainable_variables]
        error = float(np.abs(np.asarray(g(z, training=False)) - np.asarray(g(z, training=True))).max())
        for variable, value in zip(g.non_trainable_variables, moving, strict=True):
            variable.assign(value)  # undo the training-mode call's update of the moving statistics
        return error

    before = inference_error()
    standing_statistics(g, cfg, batches=20, seed=4)
    after = inference_error()
    assert after < 0.2 * before, (before, after)
    # the first BN normalises the projection z·W (4×4×C): its statistics are checked against NumPy directly
    kernel, norm = g.get_layer("project").kernel.numpy(), g.get_layer("project_bn")
    batches = [
        (sample_z_stateless(cfg, cfg.batch_size, tf.constant([4, i], tf.int64)).numpy() @ kernel).reshape(
            cfg.batch_size, 16, -1
        )
        for i in range(20)
    ]
    np.testing.assert_allclose(norm.moving_mean, np.mean([b.mean(axis=(0, 1)) for b in batches], axis=0), atol=1e-6)
    np.testing.assert_allclose(norm.moving_variance, np.mean([b.var(axis=(0, 1)) for b in batches], axis=0), rtol=1e-4)


def input_gradient_norms(discriminator: keras.Model, real: tf.Tensor) -> tf.Tensor:
    """‖∇ₓ Σ D(x)‖² per image, D in training mode as in a D step."""
    with tf.GradientTape() as tape:
        tape.watch(real)
        logit_sum = tf.reduce_sum(discriminator(real, training=True))
    return tf.reduce_sum(tf.square(tape.gradient(logit_sum, real)), axis=[1, 2, 3])


def test_r1_penalty_is_logged_exactly_and_flattens_d_at_the_data() -> None:
    rng = np.random.default_rng(0)
    images = tf.constant(rng.integers(0, 256, (8, 32, 32, 3), dtype=np.uint8))
    real = tf.cast(images, tf.float32) / 127.5 - 1.0
    final_norms = {}
    for gamma in (0.0, 10.0):
        keras.utils.set_random_seed(0)
        gan = DCGAN(tiny_config(r1_gamma=gamma, lr_d=1e-3))
        expected = 0.5 * gamma * float(tf.reduce_mean(input_gradient_norms(gan.discriminator, real)))
        logs = gan.train_step((images, tf.constant(0, tf.int64)), train_g=False)
        if gamma:
            np.testing.assert_allclose(float(logs["r1"]), expected, rtol=1e-4)
            assert expected > 0
        else:
            assert "r1" not in logs
        for step in range(1, 30):
            gan.train_step((images, tf.constant(step, tf.int64)), train_g=False)
        final_norms[gamma] = float(tf.reduce_mean(input_gradient_norms(gan.discriminator, real)))
    # after 30 D steps the penalised D is far flatter at the data than the unpenalised one
    assert final_norms[10.0] < 0.1 * final_norms[0.0]


def test_lazy_r1_is_the_penalty_k_times_over_on_every_kth_step() -> None:
    """r1_every = 4 at γ: a due step is the step of r1_every = 1 at 4γ (same loss, same D after it, a quarter of the
    logged penalty); a step that is not due is the step without R1."""
    images = tf.constant(np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8))
    batch = (images, tf.constant(0, tf.int64))

    def one_step(r1: bool, **cfg) -> tuple[dict, list]:
        keras.utils.set_random_seed(0)
        gan = DCGAN(tiny_config(lr_d=1e-3, **cfg))
        logs = gan.train_step(batch, train_g=False, r1=r1)
        return {k: float(v) for k, v in logs.items()}, [v.numpy() for v in gan.discriminator.trainable_variables]

    lazy, lazy_d = one_step(True, r1_gamma=10.0, r1_every=4)
    eager, eager_d = one_step(True, r1_gamma=40.0)
    np.testing.assert_allclose(lazy["d_loss"], eager["d_loss"], rtol=1e-5)
    np.testing.assert_allclose(4 * lazy["r1"], eager["r1"], rtol=1e-5)
    for a, b in zip(lazy_d, eager_d, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    skipped, _ = one_step(False, r1_gamma=10.0, r1_every=4)
    plain, _ = one_step(True, r1_gamma=0.0)
    assert "r1" not in skipped and skipped["d_loss"] == plain["d_loss"] < lazy["d_loss"]


def test_every_draw_of_a_step_has_its_own_seed_whatever_d_steps() -> None:
    """step * 8 + i reused seeds from d_steps = 8 on (D's 8th update drew G's z; the 9th, the next step's)."""
    seeds = [
        tuple(step_seed(3, tf.constant(step, tf.int64), slot).numpy())
        for step in range(4)
        for slot in (G_SLOT, *(d_slot(i) for i in range(12)))
    ]
    assert len(set(seeds)) == len(seeds) == 4 * 13
    assert tuple(step_seed(3, tf.constant(2, tf.int64), G_SLOT).numpy()) == seeds[2 * 13]  # a pure function
    assert tuple(step_seed(4, tf.constant(0, tf.int64), G_SLOT).numpy()) != seeds[0]  # of the run's seed too


def test_a_step_with_many_d_updates_draws_different_z_for_each() -> None:
    """d_steps = 9: every D update sees other fakes (the old seeds gave D update 7 the z of G's update)."""
    cfg = tiny_config(d_steps=9, batch_size=2)
    draws = [sample_z_stateless(cfg, 2, step_seed(cfg.seed, tf.constant(5, tf.int64), d_slot(i))) for i in range(9)]
    draws.append(sample_z_stateless(cfg, 2, step_seed(cfg.seed, tf.constant(5, tf.int64), G_SLOT)))
    flat = {tuple(np.round(d.numpy().ravel(), 6)) for d in draws}
    assert len(flat) == 10
