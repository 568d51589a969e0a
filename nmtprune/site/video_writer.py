"""The videos' writer: drawn frames to an MP4 (H.264) and a GIF, both 1280×720.

MP4 goes through the ffmpeg binary shipped in the ``imageio-ffmpeg`` wheel; the GIF (every second
frame, one shared palette) through Pillow. The pruning sweep (:mod:`.video`) and SparseGPT's updates
(:mod:`.video_sparsegpt`) both write through :func:`write_video`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .video_style import SIZE

__all__ = ["grab", "write_video"]


def grab(fig) -> np.ndarray:
    """The figure's pixels as a (720, 1280, 3) uint8 array."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def write_video(out: Path, segments, fps: int, gif: bool = True) -> dict:
    """Write ``out`` (.mp4, H.264; a .gif beside it when ``gif``; or just a .gif) from ``segments``: a list of
    (frame count, ``draw(i) -> (720, 1280, 3) uint8``). Returns the paths written and the GIF's frame count."""
    import matplotlib.pyplot as plt

    result: dict = {}
    gif_path = out if out.suffix.lower() == ".gif" else (out.with_suffix(".gif") if gif else None)
    gif_frames = []
    writer = None
    if out.suffix.lower() != ".gif":
        import imageio_ffmpeg

        writer = imageio_ffmpeg.write_frames(
            str(out),
            SIZE,
            fps=fps,
            codec="libx264",
            pix_fmt_out="yuv420p",
            quality=None,
            bitrate=None,
            output_params=["-crf", "23"],
            macro_block_size=16,
        )
        writer.send(None)
        result["mp4"] = str(out)
    k = 0  # the video's frame index, across segments (the GIF keeps every second one)
    try:
        for count, draw_fn in segments:
            for i in range(count):
                frame = draw_fn(i)
                if writer is not None:
                    writer.send(frame)
                if gif_path is not None and k % 2 == 0:
                    gif_frames.append(frame)
                k += 1
    finally:
        if writer is not None:
            writer.close()
        plt.close("all")  # the figures the segments drew on
    if gif_path is not None:
        result.update(gif=str(gif_path), gif_frames=_write_gif(gif_path, gif_frames, fps / 2))
    return result


def _write_gif(path: Path, frames: list, fps: float) -> int:
    """Full-size frames on one palette taken from a few of them: the palette does not flicker from frame
    to frame, and unchanged regions stay identical, so Pillow stores only what changed. Returns the
    number of frames kept (Pillow merges identical consecutive frames, the held end)."""
    from PIL import Image

    sample = np.concatenate([frames[i] for i in np.linspace(0, len(frames) - 1, min(6, len(frames))).astype(int)])
    pal = Image.fromarray(sample).quantize(colors=96, method=Image.Quantize.MEDIANCUT)
    ims = [Image.fromarray(f).quantize(palette=pal, dither=Image.Dither.NONE) for f in frames]
    ims[0].save(path, save_all=True, append_images=ims[1:], duration=round(1000 / fps), loop=0, optimize=True)
    with Image.open(path) as g:
        return g.n_frames
