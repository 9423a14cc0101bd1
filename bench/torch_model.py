"""The NormFormer-family LM in PyTorch (fp32, CPU), for the training-step peer of `deno task bench`.

The math is tests/fixtures/make_fixtures.py's `forward` (written from /work/shared/NORMFORMER.md (a), (b)), put in
an nn.Module so autograd and torch.optim see ordinary parameters: embed scale sqrt(C); fairseq's sinusoids (sin
half, cos half, positions offset by padding_idx + 1); Pre-LN, or NormFormer's post-attention LN, HeadScale
(fairseq's post-out-proj placement) and FFN LN; exact erf GELU; causal attention with q scaled after its bias;
final LayerNorm; tied output projection; mean cross-entropy; dropout (residual, attention, activation) where the
config sets it, at the Deno model's places. Every op matches the Deno model's op for op (the init values do not
matter for speed, so the inits are plain). bench/torch_nanogpt.py is the same function written nanoGPT's way.

Legend: B batch, T time, C width, H heads, Dh = C/H, F FFN width, L layers, V vocabulary.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

PAD = 1  # fairseq's padding_idx: position t (0-based) uses sinusoid row t + 2


def drop(x, p, training):
    """Dropout, skipped when p is 0 (as the Deno model skips it)."""
    return F.dropout(x, p, training) if p > 0 else x


def sinusoids(num_pos, d, offset):
    half = d // 2
    w = torch.exp(torch.arange(half, dtype=torch.float64) * -(math.log(10000) / (half - 1)))
    ang = (torch.arange(num_pos, dtype=torch.float64) + offset)[:, None] * w[None, :]
    return torch.cat([torch.sin(ang), torch.cos(ang)], dim=1).to(torch.float32)  # (T, C)


class Layer(nn.Module):
    """One Pre-LN decoder layer with NormFormer's switches."""

    def __init__(self, d, heads, dff, post_attn_norm, head_scale, ffn_norm, dropout=0.0, attn_dropout=0.0,
                 act_dropout=0.0):
        super().__init__()
        self.h, self.dh = heads, d // heads
        self.p, self.p_attn, self.p_act = dropout, attn_dropout, act_dropout
        self.q, self.k, self.v, self.out = (nn.Linear(d, d) for _ in range(4))
        self.ln_a = nn.LayerNorm(d)
        self.attn_ln = nn.LayerNorm(d) if post_attn_norm else None
        self.c_attn = nn.Parameter(torch.ones(heads)) if head_scale else None
        self.ln_f = nn.LayerNorm(d)
        self.fc1, self.fc2 = nn.Linear(d, dff), nn.Linear(dff, d)
        self.ffn_ln = nn.LayerNorm(dff) if ffn_norm else None

    def attention(self, u, mask):
        b, t, c = u.shape

        def split(z):
            return z.view(b, t, self.h, self.dh).transpose(1, 2)  # (B, H, T, Dh)

        q = split(self.q(u) * self.dh**-0.5)
        k, v = split(self.k(u)), split(self.v(u))
        p = F.softmax((q @ k.transpose(-1, -2)).masked_fill(mask, float("-inf")), dim=-1)  # (B, H, T, T)
        p = drop(p, self.p_attn, self.training)
        out = self.out((p @ v).transpose(1, 2).reshape(b, t, c))  # (B, T, C)
        if self.c_attn is not None:  # HeadScale, fairseq's placement: chunks of out_proj's output
            out = (out.view(b, t, self.h, self.dh) * self.c_attn[:, None]).reshape(b, t, c)
        return out

    def forward(self, x, mask):
        a = self.attention(self.ln_a(x), mask)
        if self.attn_ln is not None:
            a = self.attn_ln(a)
        x = x + drop(a, self.p, self.training)
        u = drop(F.gelu(self.fc1(self.ln_f(x))), self.p_act, self.training)  # exact erf GELU, (B, T, F)
        if self.ffn_ln is not None:
            u = self.ffn_ln(u)
        return x + drop(self.fc2(u), self.p, self.training)


class LM(nn.Module):
    """Pre-LN (arch "preln") or NormFormer (arch "normformer") causal LM with tied embeddings."""

    def __init__(self, vocab, d, heads, dff, layers, context, arch, dropout=0.0, attn_dropout=0.0, act_dropout=0.0):
        super().__init__()
        if arch not in ("preln", "normformer"):
            raise ValueError(f"unsupported arch {arch!r}: expected 'preln' or 'normformer'")
        nf = arch == "normformer"
        self.d, self.p = d, dropout
        self.embed = nn.Parameter(torch.randn(vocab, d) * d**-0.5)
        self.register_buffer("pos", sinusoids(context, d, PAD + 1))
        self.layers = nn.ModuleList(
            Layer(d, heads, dff, nf, nf, nf, dropout, attn_dropout, act_dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(d)

    def loss(self, ids, targets):
        t = ids.shape[1]
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
        x = drop(self.embed[ids] * math.sqrt(self.d) + self.pos[:t], self.p, self.training)  # (B, T, C)
        for layer in self.layers:
            x = layer(x, mask)
        logits = self.norm(x) @ self.embed.T  # (B, T, V)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
