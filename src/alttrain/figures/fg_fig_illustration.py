"""fg_fig_illustration: schematic of the single-tangent forward gradient and of the orthogonal projection.

Drawn programmatically (no data): (a) in 2-D, the true gradient, a tangent v and the forward gradient g_v =
(grad f . v) v, collinear with v, inside the half-disc of directions within 90 degrees of the gradient; (b) in
3-D, the plane U spanned by two tangents, the gradient out of the plane and its projection P_U(grad f) with
the dashed drop line and a right-angle marker.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Wedge

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.style import Context

SPEC = ArtifactSpec(
    id="fg_fig_illustration",
    paper="fg",
    inputs=(),
    caption=(
        "Forward gradients (schematic, drawn from the definitions; no data). (a) Single tangent: the forward "
        "gradient g_v = (∇f·v) v lies on the line of the tangent v and always within 90° of ∇f (shaded), so "
        "it is a descent direction. (b) Orthogonal projection (frog): the gradient ∇f is projected onto the "
        "plane U spanned by the tangents v1, v2; P_U(∇f) is the closest point of U to ∇f."
    ),
)


def _arrow(ax, start, end, color, label, **kwargs):
    ax.annotate(
        "", xy=end, xytext=start, arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.8, **kwargs}
    )
    ax.text(end[0] * 1.06, end[1] * 1.06, label, color=color, fontsize=9, ha="center", va="center")


def _panel_single(ax) -> None:
    grad = np.array([0.9, 0.55])
    tangent = np.array([1.0, -0.45])
    forward = (grad @ tangent) * tangent
    angle = np.degrees(np.arctan2(grad[1], grad[0]))
    ax.add_patch(Wedge((0, 0), 1.35, angle - 90, angle + 90, color="#fdd0a2", alpha=0.5, lw=0))
    _arrow(ax, (0, 0), grad, "#000000", r"$\nabla f$")
    _arrow(ax, (0, 0), tangent, "#4292c6", r"$v$")
    _arrow(ax, (0, 0), forward, "#a63603", r"$g_v$")
    ax.plot(
        [-1.2 * tangent[0], 1.4 * tangent[0]],
        [-1.2 * tangent[1], 1.4 * tangent[1]],
        color="#4292c6",
        lw=0.6,
        ls=":",
    )
    ax.set_xlim(-1.5, 1.6)
    ax.set_ylim(-1.2, 1.5)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title("(a) single tangent", fontsize=9)


def _panel_projection(ax) -> None:
    corners = np.array([[-0.2, -0.2, 0], [1.3, -0.2, 0], [1.3, 1.2, 0], [-0.2, 1.2, 0]])
    ax.plot_trisurf(corners[:, 0], corners[:, 1], corners[:, 2], color="#c6dbef", alpha=0.45, linewidth=0)
    grad = np.array([0.8, 0.7, 0.9])
    projection = np.array([0.8, 0.7, 0.0])
    for vector, color, label in (
        (np.array([1.0, 0.1, 0]), "#4292c6", r"$v_1$"),
        (np.array([0.2, 1.0, 0]), "#4292c6", r"$v_2$"),
        (grad, "#000000", r"$\nabla f$"),
        (projection, "#a63603", r"$P_U(\nabla f)$"),
    ):
        ax.quiver(0, 0, 0, *vector, color=color, arrow_length_ratio=0.08, linewidth=1.6)
        ax.text(*(vector * 1.1), label, color=color, fontsize=9)
    ax.plot(
        [grad[0], projection[0]],
        [grad[1], projection[1]],
        [grad[2], projection[2]],
        color="0.3",
        ls="--",
        lw=1,
    )
    marker = 0.08  # right angle between the drop line and the plane
    ax.plot(
        [projection[0] - marker, projection[0] - marker, projection[0]],
        [projection[1], projection[1], projection[1]],
        [0, marker, marker],
        color="0.3",
        lw=0.8,
    )
    ax.text(1.2, 1.1, 0, r"$U$", color="#08519c", fontsize=10)
    ax.set_xlim(-0.2, 1.3)
    ax.set_ylim(-0.2, 1.2)
    ax.set_zlim(0, 1.0)
    ax.view_init(elev=22, azim=-62)
    ax.set_axis_off()
    ax.set_title("(b) orthogonal projection onto span(v1, v2)", fontsize=9)


def draw(frames: dict, context: Context):
    fig = plt.figure(figsize=(8.0, 3.4))
    _panel_single(fig.add_subplot(1, 2, 1))
    _panel_projection(fig.add_subplot(1, 2, 2, projection="3d"))
    fig.tight_layout()
    return fig
