"""The spec's Example 1 (zero-shot binary from text + page images) on a tiny Qwen2.5-VL built
offline, with page images rendered from PDFs generated here.

What differs from the spec, and why: no Qwen2.5-VL-7B weights can be had without a network,
so the model is a tiny random-weight Qwen2.5-VL with the real architecture, vocabulary and
processor (its predictions are noise; the point is that every step runs: PDFs -> page images
-> loader -> formatter -> VL processor -> label scoring -> metrics). On a GPU box pass
--model Qwen/Qwen2.5-VL-7B-Instruct and your own CSV and images.

    python examples/example1_text_images.py [--model NAME] [--limit N] [--workdir DIR]
"""

import argparse
import textwrap
from pathlib import Path

from PIL import Image, ImageDraw

from paperpred import (
    ICLRDataLoader,
    InputModality,
    ModelType,
    OutputType,
    PredictorConfig,
    TrainingMode,
    UnifiedPredictor,
    load_sample,
    render_pdf_dir,
)
from paperpred.data.writers import write_submissions

parser = argparse.ArgumentParser()
parser.add_argument("--model", default="tiny-qwen2.5-vl")
parser.add_argument("--limit", type=int, default=6)
parser.add_argument("--workdir", default="runs/example1_workdir")
args = parser.parse_args()
work = Path(args.workdir)


def make_pdf(sub, path: Path, pages: int = 3) -> None:
    """A small PDF whose pages show the paper's title and abstract (PIL writes PDFs)."""
    images = []
    for page in range(pages):
        image = Image.new("RGB", (425, 550), "white")
        draw = ImageDraw.Draw(image)
        body = sub.title if page == 0 else sub.abstract[page * 300:(page + 1) * 300]
        draw.text((30, 40), "Under review as a conference paper at ICLR 2017", fill="black")
        draw.multiline_text((30, 80), textwrap.fill(body, 60), fill="black")
        images.append(image)
    images[0].save(path, save_all=True, append_images=images[1:])


# Data in the spec's layout: a CSV plus <image_base_dir>/<submission_id>/page_NNN.png
subs = load_sample()[: args.limit]
(work / "pdfs").mkdir(parents=True, exist_ok=True)
for sub in subs:
    make_pdf(sub, work / "pdfs" / f"{sub.submission_id}.pdf")
print(render_pdf_dir(work / "pdfs", work / "normalized", dpi=72).summary())
write_submissions(subs, work / "iclr_data.csv")

# Load data (as the spec does)
loader = ICLRDataLoader(data_dir=work, image_base_dir=work / "normalized")
submissions = list(loader.load_from_csv(work / "iclr_data.csv", load_images=True))

# Split data (the spec splits by year; the sample is all 2017, so evaluate all)
test_submissions = submissions

predictor = UnifiedPredictor.create(
    input_modality=InputModality.TEXT_WITH_IMAGES,
    output_type=OutputType.BINARY,
    training_mode=TrainingMode.ZERO_SHOT,
    config=PredictorConfig(
        model_name_or_path=args.model,
        model_type=ModelType.VISION_LANGUAGE,
        temperature=0.0,
        max_tokens=512,
        batch_size=2,
    ),
    input_kwargs={"include_reviews": True, "max_images": 2},
)

results = predictor.predict_with_evaluation(test_submissions)
print(f"Accuracy: {results['metrics']['accuracy']:.3f}")
print(f"F1: {results['metrics']['f1']:.3f}")
print(f"images per prompt: {[p.get('n_images') for p in results['predictions']]}")
