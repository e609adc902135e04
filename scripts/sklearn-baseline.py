#!/usr/bin/python3
"""scikit-learn's keyword baseline, the reference for src/main/engine/baseline.

TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True) + LogisticRegression(C=10,
multinomial, lbfgs) fitted on the training rows and scored on the evaluation rows.
Prints accuracy, macro-F1 and per-class F1 (and the fit's iteration count) as JSON.

Rows come from either
  * two CSV files with a header row "text,label" (what a test writes): --train A.csv --eval B.csv
  * the shared AG News files (class 1-4, title, description; text = title + " " + description,
    each part trimmed, as the app's mapping joins two text columns): --ag-news DIR [--train-file
    train_5k.csv] [--eval-file test.csv]

Run with Debian's python3-sklearn:
  /usr/bin/python3 scripts/sklearn-baseline.py --ag-news ../shared/datasets/ag_news
"""
import argparse
import csv
import json
import sys
import time
import warnings


def read_text_label_csv(path):
    texts, labels = [], []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        ti, li = header.index("text"), header.index("label")
        for row in reader:
            texts.append(row[ti])
            labels.append(row[li])
    return texts, labels


def read_ag_news(path, limit=None):
    texts, labels = [], []
    with open(path, newline="", encoding="utf-8") as f:
        for i, row in enumerate(csv.reader(f)):
            if limit is not None and i >= limit:
                break
            parts = [p.strip() for p in row[1:3] if p.strip() != ""]
            texts.append(" ".join(parts))
            labels.append(row[0])
    return texts, labels


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", help="CSV with header text,label")
    parser.add_argument("--eval", help="CSV with header text,label")
    parser.add_argument("--ag-news", help="folder with the AG News CSV files")
    parser.add_argument("--train-file", default="train_5k.csv")
    parser.add_argument("--eval-file", default="test.csv")
    parser.add_argument("--C", type=float, default=10.0)
    parser.add_argument("--max-iter", type=int, default=10000, help="scikit-learn's default is 100; the baseline is fitted to convergence")
    parser.add_argument("--tol", type=float, default=1e-6)
    args = parser.parse_args()

    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
    from sklearn.exceptions import ConvergenceWarning
    import sklearn

    if args.ag_news:
        import os
        train_texts, train_labels = read_ag_news(os.path.join(args.ag_news, args.train_file))
        eval_texts, eval_labels = read_ag_news(os.path.join(args.ag_news, args.eval_file))
    elif args.train and args.eval:
        train_texts, train_labels = read_text_label_csv(args.train)
        eval_texts, eval_labels = read_text_label_csv(args.eval)
    else:
        parser.error("give --ag-news DIR, or --train and --eval")

    started = time.time()
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    x_train = vectorizer.fit_transform(train_texts)
    x_eval = vectorizer.transform(eval_texts)
    model = LogisticRegression(C=args.C, multi_class="multinomial", solver="lbfgs", max_iter=args.max_iter, tol=args.tol)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(x_train, train_labels)
    seconds = time.time() - started
    predicted = model.predict(x_eval)
    classes = [str(c) for c in model.classes_]
    _, _, f1, support = precision_recall_fscore_support(eval_labels, predicted, labels=model.classes_, zero_division=0)
    print(json.dumps({
        "sklearn": sklearn.__version__,
        "trainRows": len(train_texts),
        "evalRows": len(eval_texts),
        "features": len(vectorizer.vocabulary_),
        "iterations": int(model.n_iter_[0]),
        "converged": not any(issubclass(w.category, ConvergenceWarning) for w in caught),
        "seconds": round(seconds, 3),
        "accuracy": accuracy_score(eval_labels, predicted),
        "macroF1": f1_score(eval_labels, predicted, average="macro"),
        "perClassF1": {c: float(v) for c, v in zip(classes, f1)},
        "support": {c: int(s) for c, s in zip(classes, support)},
    }, indent=2))


if __name__ == "__main__":
    sys.exit(main())
