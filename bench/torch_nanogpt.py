"""The NormFormer-family LM written nanoGPT's way (Karpathy's model.py), the second PyTorch peer of the training step.

bench/torch_model.py mirrors our model op for op (fairseq's separate q, k, v projections, embedding by indexing,
output projection by `@ embed.T`); this is how a PyTorch user would more likely write the same function: one fused
qkv projection Linear(C, 3C) split into q, k, v; the scale on the scores; a causal mask buffer; nn.Embedding tied to
an lm_head Linear(C, V, bias=False); nn.GELU (exact erf); AdamW over every parameter with torch's multi-tensor
(`foreach`) path (nanoGPT's fused AdamW is CUDA-only). Where it differs from nanoGPT, it is to compute the same
function as ours with the same parameters, so the parameter counts match (checked by the peer): fixed sinusoidal
positions (a buffer) instead of the learned `wpe`, the embedding scaled by sqrt(C), biases everywhere, weight decay
on every parameter, and NormFormer's switches: post-attention LN, HeadScale (fairseq's post-out-proj placement) and
FFN LN.

    /usr/bin/python3 bench/torch_nanogpt.py --check   # same loss and gradients as torch_model.LM, same weights

Legend: B batch, T time, C width, H heads, Dh = C/H, F FFN width, L layers, V vocabulary.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from torch_model import LM, PAD, drop, sinusoids


class CausalSelfAttention(nn.Module):
    def __init__(self, d, heads, context, head_scale, attn_dropout):
        super().__init__()
        self.h, self.p_attn = heads, attn_dropout
        self.c_attn = nn.Linear(d, 3 * d)  # q, k, v in one product
        self.c_proj = nn.Linear(d, d)
        self.head_scale = nn.Parameter(torch.ones(heads)) if head_scale else None
        self.register_buffer("bias", torch.tril(torch.ones(context, context)).view(1, 1, context, context))

    def forward(self, x):
        b, t, c = x.size()
        q, k, v = self.c_attn(x).split(c, dim=2)
        q = q.view(b, t, self.h, c // self.h).transpose(1, 2)  # (B, H, T, Dh)
        k = k.view(b, t, self.h, c // self.h).transpose(1, 2)
        v = v.view(b, t, self.h, c // self.h).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))  # (B, H, T, T)
        att = att.masked_fill(self.bias[:, :, :t, :t] == 0, float("-inf"))
        att = drop(F.softmax(att, dim=-1), self.p_attn, self.training)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, c)  # (B, T, C)
        y = self.c_proj(y)
        if self.head_scale is not None:  # HeadScale after the output projection, head by head
            y = (y.view(b, t, self.h, c // self.h) * self.head_scale[:, None]).view(b, t, c)
        return y


class MLP(nn.Module):
    def __init__(self, d, dff, ffn_norm, act_dropout):
        super().__init__()
        self.c_fc, self.gelu, self.c_proj = nn.Linear(d, dff), nn.GELU(), nn.Linear(dff, d)
        self.ln = nn.LayerNorm(dff) if ffn_norm else None
        self.p_act = act_dropout

    def forward(self, x):
        u = drop(self.gelu(self.c_fc(x)), self.p_act, self.training)  # (B, T, F)
        return self.c_proj(self.ln(u) if self.ln is not None else u)


class Block(nn.Module):
    def __init__(self, d, heads, dff, context, nf, dropout, attn_dropout, act_dropout):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = CausalSelfAttention(d, heads, context, nf, attn_dropout)
        self.attn_ln = nn.LayerNorm(d) if nf else None  # NormFormer's post-attention LN
        self.mlp = MLP(d, dff, nf, act_dropout)
        self.p = dropout

    def forward(self, x):
        a = self.attn(self.ln_1(x))
        x = x + drop(self.attn_ln(a) if self.attn_ln is not None else a, self.p, self.training)
        return x + drop(self.mlp(self.ln_2(x)), self.p, self.training)


class GPT(nn.Module):
    """Pre-LN (arch "preln") or NormFormer (arch "normformer"); the same arguments as torch_model.LM."""

    def __init__(self, vocab, d, heads, dff, layers, context, arch, dropout=0.0, attn_dropout=0.0, act_dropout=0.0):
        super().__init__()
        if arch not in ("preln", "normformer"):
            raise ValueError(f"unsupported arch {arch!r}: expected 'preln' or 'normformer'")
        nf = arch == "normformer"
        self.d, self.p = d, dropout
        self.wte = nn.Embedding(vocab, d)
        self.register_buffer("wpe", sinusoids(context, d, PAD + 1))  # fixed, as ours: no T·C parameters
        self.h = nn.ModuleList(
            Block(d, heads, dff, context, nf, dropout, attn_dropout, act_dropout) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.wte.weight = self.lm_head.weight  # weight tying
        with torch.no_grad():
            self.wte.weight.normal_(0, d**-0.5)

    def loss(self, ids, targets):
        t = ids.size(1)
        x = drop(self.wte(ids) * math.sqrt(self.d) + self.wpe[:t], self.p, self.training)  # (B, T, C)
        for block in self.h:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))  # (B, T, V)
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def optimizer(model, style):
    """AdamW (β 0.9/0.98, ε 1e-8, wd 0.01 on every parameter) as each peer runs it; lr 1e-3."""
    return torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.01,
                             foreach=style == "nanogpt")


def build(style, **shape):
    """torch_model.LM (style "fairseq") or GPT (style "nanogpt") with `shape` (LM's arguments)."""
    if style not in ("fairseq", "nanogpt"):
        raise ValueError(f"unknown style {style!r}: expected 'fairseq' or 'nanogpt'")
    return (LM if style == "fairseq" else GPT)(**shape)


def param_count(model):
    return sum(p.numel() for p in model.parameters())  # a tied parameter once


def copy_from_fairseq(gpt, lm):
    """Load LM's weights into GPT (q, k, v concatenated into c_attn)."""
    with torch.no_grad():
        gpt.wte.weight.copy_(lm.embed)
        gpt.ln_f.load_state_dict(lm.norm.state_dict())
        for blk, lay in zip(gpt.h, lm.layers):
            blk.attn.c_attn.weight.copy_(torch.cat([lay.q.weight, lay.k.weight, lay.v.weight]))
            blk.attn.c_attn.bias.copy_(torch.cat([lay.q.bias, lay.k.bias, lay.v.bias]))
            blk.attn.c_proj.load_state_dict(lay.out.state_dict())
            blk.ln_1.load_state_dict(lay.ln_a.state_dict())
            blk.ln_2.load_state_dict(lay.ln_f.state_dict())
            blk.mlp.c_fc.load_state_dict(lay.fc1.state_dict())
            blk.mlp.c_proj.load_state_dict(lay.fc2.state_dict())
            if lay.c_attn is not None:
                blk.attn.head_scale.copy_(lay.c_attn)
                blk.attn_ln.load_state_dict(lay.attn_ln.state_dict())
                blk.mlp.ln.load_state_dict(lay.ffn_ln.state_dict())


def check():
    """Both styles compute the same loss and embedding gradient from the same weights, for both archs."""
    for arch in ("preln", "normformer"):
        torch.manual_seed(0)
        shape = dict(vocab=256, d=32, heads=4, dff=64, layers=2, context=16, arch=arch)
        lm, gpt = build("fairseq", **shape), build("nanogpt", **shape)
        with torch.no_grad():  # non-trivial gains and scales, so a swapped LayerNorm or HeadScale would show
            for p in lm.parameters():
                if p.dim() == 1:
                    p.add_(torch.rand(p.shape) * 0.5)
        copy_from_fairseq(gpt, lm)
        assert param_count(lm) == param_count(gpt), (arch, param_count(lm), param_count(gpt))
        ids, targets = torch.randint(256, (3, 16)), torch.randint(256, (3, 16))
        la, lb = lm.loss(ids, targets), gpt.loss(ids, targets)
        la.backward()
        lb.backward()
        err = (lm.embed.grad - gpt.wte.weight.grad).abs().max().item()
        assert abs(la.item() - lb.item()) < 1e-5 and err < 1e-6, (arch, la.item(), lb.item(), err)
        print(f"{arch}: {param_count(lm)} parameters each, loss {la.item():.6f} = {lb.item():.6f}, "
              f"max |d embed| difference {err:.1e}")


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["--check"]:
        sys.exit(__doc__)
    check()
