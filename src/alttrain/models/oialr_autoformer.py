"""Autoformer (Wu et al., NeurIPS 2021) for multivariate forecasting, written for this project from the
paper's description and the structure of the public reference implementation (thuml/Autoformer): series
decomposition blocks, auto-correlation attention with time-delay aggregation, encoder-decoder with a trend
accumulator.

Inputs are the four tensors of the ETT loaders ``(x_enc (B, seq_len, C), x_mark_enc (B, seq_len, F),
x_dec (B, label_len + pred_len, C), x_mark_dec (B, label_len + pred_len, F))``; the output is (B, pred_len,
C). Sequence lengths and channel counts are read from the data set, so one builder serves every horizon.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from alttrain.data import DataSplits
from alttrain.models import register_model


class MovingAverage(nn.Module):
    """Moving average over time with edge replication, so the output keeps the input length."""

    def __init__(self, kernel_size: int) -> None:
        super().__init__()
        self.kernel_size = kernel_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, L, C) -> (B, L, C)
        pad = (self.kernel_size - 1) // 2
        front, end = x[:, :1].expand(-1, pad, -1), x[:, -1:].expand(-1, pad, -1)
        padded = torch.cat([front, x, end], dim=1)
        return F.avg_pool1d(padded.transpose(1, 2), self.kernel_size, stride=1).transpose(1, 2)


class SeriesDecomposition(nn.Module):
    """x -> (seasonal = x - trend, trend = moving average of x)."""

    def __init__(self, kernel_size: int) -> None:
        super().__init__()
        self.average = MovingAverage(kernel_size)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        trend = self.average(x)
        return x - trend, trend


class SeasonalLayerNorm(nn.Module):
    """LayerNorm over channels, then the mean over time removed (the seasonal part has no level)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_hat = self.norm(x)
        return x_hat - x_hat.mean(dim=1, keepdim=True)


class DataEmbedding(nn.Module):
    """Value embedding (circular conv, kernel 3) plus time-feature embedding (linear); no positional
    embedding."""

    def __init__(self, channels: int, time_features: int, d_model: int, dropout: float) -> None:
        super().__init__()
        self.value = nn.Conv1d(
            channels, d_model, kernel_size=3, padding=1, padding_mode="circular", bias=False
        )
        nn.init.kaiming_normal_(self.value.weight, mode="fan_in", nonlinearity="leaky_relu")
        self.time = nn.Linear(time_features, d_model, bias=False)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, x: torch.Tensor, x_mark: torch.Tensor
    ) -> torch.Tensor:  # (B, L, C), (B, L, F) -> (B, L, D)
        return self.dropout(self.value(x.transpose(1, 2)).transpose(1, 2) + self.time(x_mark))


class AutoCorrelation(nn.Module):
    """Period-based dependencies: the top-k delays of the FFT auto-correlation, values rolled and weighted.

    Training aggregates with delays shared by the batch (cheaper), evaluation with each sample's own delays,
    as in the reference implementation.
    """

    def __init__(self, factor: int) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        # queries (B, L, H, E), keys/values (B, S, H, E) -> (B, L, H, E)
        length = queries.shape[1]
        if length > keys.shape[1]:
            pad = torch.zeros_like(queries[:, : length - keys.shape[1]])
            keys, values = torch.cat([keys, pad], dim=1), torch.cat([values, pad], dim=1)
        else:
            keys, values = keys[:, :length], values[:, :length]
        q_fft = torch.fft.rfft(queries.permute(0, 2, 3, 1).contiguous(), dim=-1)
        k_fft = torch.fft.rfft(keys.permute(0, 2, 3, 1).contiguous(), dim=-1)
        corr = torch.fft.irfft(q_fft * torch.conj(k_fft), n=length, dim=-1)  # (B, H, E, L)
        values = values.permute(0, 2, 3, 1)  # (B, H, E, L)
        top_k = max(1, int(self.factor * math.log(length)))
        mean_corr = corr.mean(dim=(1, 2))  # (B, L)
        if self.training:
            out = self._aggregate_shared(values, mean_corr, top_k)
        else:
            out = self._aggregate_per_sample(values, mean_corr, top_k)
        return out.permute(0, 3, 1, 2)

    @staticmethod
    def _aggregate_shared(values: torch.Tensor, mean_corr: torch.Tensor, top_k: int) -> torch.Tensor:
        delays = torch.topk(mean_corr.mean(dim=0), top_k).indices  # (k,), shared by the batch
        weights = torch.softmax(mean_corr[:, delays], dim=-1)  # (B, k)
        out = torch.zeros_like(values)
        for i, delay in enumerate(delays.tolist()):
            out = out + torch.roll(values, -delay, dims=-1) * weights[:, i, None, None, None]
        return out

    @staticmethod
    def _aggregate_per_sample(values: torch.Tensor, mean_corr: torch.Tensor, top_k: int) -> torch.Tensor:
        batch, heads, channels, length = values.shape
        top_weights, delays = torch.topk(mean_corr, top_k, dim=-1)  # (B, k)
        weights = torch.softmax(top_weights, dim=-1)
        doubled = values.repeat(1, 1, 1, 2)  # rolling = reading a window of the doubled series
        base = torch.arange(length, device=values.device).expand(batch, heads, channels, length)
        out = torch.zeros_like(values)
        for i in range(top_k):
            index = base + delays[:, i, None, None, None]
            out = out + torch.gather(doubled, -1, index) * weights[:, i, None, None, None]
        return out


class AutoCorrelationLayer(nn.Module):
    """Multi-head wrapper: query / key / value / output projections around :class:`AutoCorrelation`."""

    def __init__(self, d_model: int, n_heads: int, factor: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.correlation = AutoCorrelation(factor)
        self.query_projection = nn.Linear(d_model, d_model)
        self.key_projection = nn.Linear(d_model, d_model)
        self.value_projection = nn.Linear(d_model, d_model)
        self.out_projection = nn.Linear(d_model, d_model)

    def forward(self, queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        batch, length, _ = queries.shape
        source = keys.shape[1]
        q = self.query_projection(queries).view(batch, length, self.n_heads, -1)
        k = self.key_projection(keys).view(batch, source, self.n_heads, -1)
        v = self.value_projection(values).view(batch, source, self.n_heads, -1)
        return self.out_projection(self.correlation(q, k, v).reshape(batch, length, -1))


class FeedForward(nn.Module):
    """Position-wise feed-forward as two kernel-1 convolutions (d_model -> d_ff -> d_model, no bias)."""

    def __init__(self, d_model: int, d_ff: int, dropout: float, activation: str) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(d_model, d_ff, kernel_size=1, bias=False)
        self.conv2 = nn.Conv1d(d_ff, d_model, kernel_size=1, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.activation = F.gelu if activation == "gelu" else F.relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, L, D) -> (B, L, D)
        y = self.dropout(self.activation(self.conv1(x.transpose(1, 2))))
        return self.dropout(self.conv2(y).transpose(1, 2))


class EncoderLayer(nn.Module):
    """Auto-correlation and feed-forward, each followed by a decomposition that drops the trend."""

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        factor: int,
        moving_avg: int,
        dropout: float,
        activation: str,
    ) -> None:
        super().__init__()
        self.attention = AutoCorrelationLayer(d_model, n_heads, factor)
        self.feed_forward = FeedForward(d_model, d_ff, dropout, activation)
        self.decomp1, self.decomp2 = SeriesDecomposition(moving_avg), SeriesDecomposition(moving_avg)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, _ = self.decomp1(x + self.dropout(self.attention(x, x, x)))
        x, _ = self.decomp2(x + self.feed_forward(x))
        return x


class DecoderLayer(nn.Module):
    """Self- and cross-correlation and feed-forward; the three trends removed are projected to the output."""

    def __init__(
        self,
        d_model: int,
        channels: int,
        n_heads: int,
        d_ff: int,
        factor: int,
        moving_avg: int,
        dropout: float,
        activation: str,
    ) -> None:
        super().__init__()
        self.self_attention = AutoCorrelationLayer(d_model, n_heads, factor)
        self.cross_attention = AutoCorrelationLayer(d_model, n_heads, factor)
        self.feed_forward = FeedForward(d_model, d_ff, dropout, activation)
        self.decomp1, self.decomp2, self.decomp3 = (SeriesDecomposition(moving_avg) for _ in range(3))
        self.dropout = nn.Dropout(dropout)
        self.trend_projection = nn.Conv1d(
            d_model, channels, kernel_size=3, padding=1, padding_mode="circular", bias=False
        )

    def forward(self, x: torch.Tensor, cross: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, trend1 = self.decomp1(x + self.dropout(self.self_attention(x, x, x)))
        x, trend2 = self.decomp2(x + self.dropout(self.cross_attention(x, cross, cross)))
        x, trend3 = self.decomp3(x + self.feed_forward(x))
        trend = self.trend_projection((trend1 + trend2 + trend3).transpose(1, 2)).transpose(1, 2)  # (B, L, C)
        return x, trend


class Autoformer(nn.Module):
    """Encoder-decoder forecaster; seasonal and trend parts are added at the end."""

    def __init__(
        self,
        channels: int,
        time_features: int,
        label_len: int,
        pred_len: int,
        d_model: int = 512,
        n_heads: int = 8,
        e_layers: int = 2,
        d_layers: int = 1,
        d_ff: int = 2048,
        moving_avg: int = 25,
        factor: int = 1,
        dropout: float = 0.05,
        activation: str = "gelu",
    ) -> None:
        super().__init__()
        self.label_len, self.pred_len = label_len, pred_len
        self.decomp = SeriesDecomposition(moving_avg)
        self.enc_embedding = DataEmbedding(channels, time_features, d_model, dropout)
        self.dec_embedding = DataEmbedding(channels, time_features, d_model, dropout)
        self.encoder = nn.ModuleList(
            EncoderLayer(d_model, n_heads, d_ff, factor, moving_avg, dropout, activation)
            for _ in range(e_layers)
        )
        self.encoder_norm = SeasonalLayerNorm(d_model)
        self.decoder = nn.ModuleList(
            DecoderLayer(d_model, channels, n_heads, d_ff, factor, moving_avg, dropout, activation)
            for _ in range(d_layers)
        )
        self.decoder_norm = SeasonalLayerNorm(d_model)
        self.projection = nn.Linear(d_model, channels)

    def forward(
        self, x_enc: torch.Tensor, x_mark_enc: torch.Tensor, x_dec: torch.Tensor, x_mark_dec: torch.Tensor
    ) -> torch.Tensor:
        # decoder input: the last label_len steps' seasonal part then zeros; trend: their trend then the mean
        mean = x_enc.mean(dim=1, keepdim=True).expand(-1, self.pred_len, -1)  # (B, pred_len, C)
        zeros = torch.zeros_like(mean)
        seasonal, trend = self.decomp(x_enc)
        trend = torch.cat([trend[:, -self.label_len :], mean], dim=1)  # (B, label_len + pred_len, C)
        seasonal = torch.cat([seasonal[:, -self.label_len :], zeros], dim=1)
        enc = self.enc_embedding(x_enc, x_mark_enc)
        for layer in self.encoder:
            enc = layer(enc)
        enc = self.encoder_norm(enc)
        dec = self.dec_embedding(seasonal, x_mark_dec)
        for layer in self.decoder:
            dec, residual_trend = layer(dec, enc)
            trend = trend + residual_trend
        out = trend + self.projection(self.decoder_norm(dec))
        return out[:, -self.pred_len :]


@register_model("oialr_autoformer")
def build_autoformer(
    data: DataSplits,
    d_model: int = 512,
    n_heads: int = 8,
    e_layers: int = 2,
    d_layers: int = 1,
    d_ff: int = 2048,
    moving_avg: int = 25,
    factor: int = 1,
    dropout: float = 0.05,
    activation: str = "gelu",
) -> nn.Module:
    """Autoformer sized for ``data`` (defaults: the Autoformer authors' ETT settings,
    docs/methods/oialr.md#e4-autoformer)."""
    (x_enc, x_mark, x_dec, _), y = data.train.take(torch.arange(1))  # the shapes the model will be fed
    pred_len = y.shape[1]
    return Autoformer(
        channels=x_enc.shape[-1],
        time_features=x_mark.shape[-1],
        label_len=x_dec.shape[1] - pred_len,
        pred_len=pred_len,
        d_model=d_model,
        n_heads=n_heads,
        e_layers=e_layers,
        d_layers=d_layers,
        d_ff=d_ff,
        moving_avg=moving_avg,
        factor=factor,
        dropout=dropout,
        activation=activation,
    )
