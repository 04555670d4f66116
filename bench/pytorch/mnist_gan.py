"""The tutorial's vanilla GAN (examples/mnist.gan) in PyTorch, for side-by-side runs.

G: z ~ U(-1, 1)^100 -> dense 128, ReLU -> dense 784, sigmoid.
D: x in [0, 1]^784 -> dense 128, ReLU -> dense 1, sigmoid.
Adam(1e-3, 0.9, 0.999, 1e-8) for each player, batch 128, one D step then one G step,
non-saturating G loss. Xavier-uniform weights, zero biases.

  OPENBLAS_CORETYPE=Cooperlake /usr/bin/python3 bench/pytorch/mnist_gan.py \
      --data data/mnist --steps 5000 [--threads T] [--samples OUT.npy]
Prints iterations/s over the timed steps (after a warm-up).
"""
import argparse, struct, time
import numpy as np
import torch
import torch.nn as nn


def load_idx(path):
    raw = open(path, "rb").read()
    n = struct.unpack(">I", raw[4:8])[0]
    return np.frombuffer(raw[16:], np.uint8).reshape(n, 784).astype(np.float32) / 255.0


def mlp(i, h, o):
    net = nn.Sequential(nn.Linear(i, h), nn.ReLU(), nn.Linear(h, o), nn.Sigmoid())
    for m in net:
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return net


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--samples", default="")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    X = torch.from_numpy(load_idx(a.data + "/train-images-idx3-ubyte"))
    G, D = mlp(100, 128, 784), mlp(784, 128, 1)
    oG = torch.optim.Adam(G.parameters(), 1e-3, betas=(0.9, 0.999), eps=1e-8)
    oD = torch.optim.Adam(D.parameters(), 1e-3, betas=(0.9, 0.999), eps=1e-8)
    B, n = a.batch, X.shape[0]
    perm, pos = torch.randperm(n), 0
    t0 = None
    for step in range(a.warmup + a.steps):
        if step == a.warmup:
            t0 = time.perf_counter()
        if pos + B > n:
            perm, pos = torch.randperm(n), 0
        x = X[perm[pos:pos + B]]
        pos += B
        z = torch.rand(B, 100) * 2 - 1
        oD.zero_grad()
        lossD = -(torch.log(D(x)).mean() + torch.log(1 - D(G(z).detach())).mean())
        lossD.backward()
        oD.step()
        z = torch.rand(B, 100) * 2 - 1
        oG.zero_grad()
        lossG = -torch.log(D(G(z))).mean()
        lossG.backward()
        oG.step()
    dt = time.perf_counter() - t0
    print("pytorch mnist_gan: %d steps, %.1f it/s, threads %d, last D loss %.4f G loss %.4f"
          % (a.steps, a.steps / dt, torch.get_num_threads(), lossD.item(), lossG.item()))
    if a.samples:
        with torch.no_grad():
            np.save(a.samples, G(torch.rand(1000, 100) * 2 - 1).numpy())


if __name__ == "__main__":
    main()
