"""The clients of //tools:serve's end-to-end test (serve_test.sh): tritonclient and requests.

Usage: serve_client.py PORT SMALL_DATASETS SCRATCH [--slow SERVER_PID]
Without --slow: answers equal the inference tools' predictions (SCRATCH/cls_pred.tsv, ner_pred.tsv,
mrc_pred.json) whatever rows share a batch; every route; bad input; half-sent requests hold nothing. With --slow (a server batching after 1.5 s,
4 concurrent requests at most): 429s at once, a client that leaves, a timeout, SIGTERM under load.
"""
import concurrent.futures
import json
import math
import os
import random
import signal
import sys
import time

import numpy as np
import requests
import tritonclient.http as triton

PORT, SMALL, SCRATCH = sys.argv[1], sys.argv[2], sys.argv[3]
URL = f"http://127.0.0.1:{PORT}"
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def close(a, b):
    """The tools print %.6g: equal within that, and within 1e-6 where the values are small."""
    return all(abs(x - y) <= 1e-6 + 1e-5 * abs(y) for x, y in zip(a, b)) and len(a) == len(b)


def column(path, name):
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        return [line.rstrip("\n").split("\t")[header.index(name)] for line in f if line.strip()]


def chunks(items, rng):
    out, i = [], 0
    while i < len(items):
        n = rng.randint(1, 7)
        out.append(items[i:i + n])
        i += n
    rng.shuffle(out)
    return out


def error_of(resp, code, field=""):
    """A JSON error with the HTTP status `code`, naming `field`."""
    try:
        body = resp.json()
    except ValueError:
        return False
    return resp.status_code == code and set(body) == {"error", "error_type"} and field in body["error"]


def classifier(client, rng):
    texts = column(f"{SMALL}/book_review/test.tsv", "text_a")
    want = [[float(v) for v in s.split()] for s in column(f"{SCRATCH}/cls_pred.tsv", "logits")]
    got = {}

    def send(batch, binary):  # tritonclient's own concurrency (its client is not for several threads)
        t = triton.InferInput("TEXT", [len(batch)], "BYTES")
        t.set_data_from_numpy(np.array([texts[i].encode() for i in batch], dtype=object), binary_data=binary)
        return client.async_infer("sentiment", [t], outputs=[triton.InferRequestedOutput("logits", binary_data=binary)])

    for attempt in range(2):  # two mixes of rows into requests, half binary, half JSON
        sent = [(batch, send(batch, k % 2 == 0)) for k, batch in enumerate(chunks(list(range(len(texts))), rng))]
        for batch, request in sent:
            for i, row in zip(batch, request.get_result().as_numpy("logits")):
                if attempt == 1:
                    check(close([float(v) for v in row], got[i]), f"row {i} differs between two batch mixes")
                got[i] = [float(v) for v in row]
    bad = [i for i in range(len(texts)) if not close(got[i], want[i])]
    check(not bad, f"served logits differ from run_classifier_infer's at rows {bad[:5]}: "
          f"{[(got[i], want[i]) for i in bad[:2]]}")
    # TEI's /predict: raw scores are the logits, sorted; without raw_scores, probabilities.
    r = requests.post(f"{URL}/predict", json={"inputs": [[texts[0]], [texts[1]]], "raw_scores": True, "truncate": True,
                                                "model": "sentiment"})
    check(r.status_code == 200, f"/predict batch: {r.status_code} {r.text}")
    for row, i in zip(r.json(), (0, 1)):
        scores = {int(s["label"]): s["score"] for s in row}
        check(close([scores[0], scores[1]], want[i]), f"/predict raw_scores row {i}: {row} vs {want[i]}")
        check(row[0]["score"] >= row[1]["score"], "/predict: not sorted by score")
    r = requests.post(f"{URL}/predict", json={"inputs": texts[0], "truncate": True, "model": "sentiment"}).json()
    check(abs(sum(s["score"] for s in r) - 1) < 1e-5, f"/predict: probabilities do not sum to 1: {r}")
    # The classification extension: the top class as "value:index:label".
    t = triton.InferInput("TEXT", [1], "BYTES")
    t.set_data_from_numpy(np.array([texts[0].encode()], dtype=object))
    r = client.infer("sentiment", [t], outputs=[triton.InferRequestedOutput("logits", class_count=1)])
    value, index, label = r.as_numpy("logits")[0][0].decode().split(":")
    check(int(index) == int(np.argmax(want[0])) and label == index and abs(float(value) - max(want[0])) < 1e-5,
          f"classification extension: {value}:{index}:{label} vs {want[0]}")


def entities(text, labels):
    """The entities of run_ner's labels over the space-separated tokens of `text` (code points)."""
    tokens, pos = [], 0
    for tok in text.split(" "):
        if tok:
            tokens.append((tok, pos, pos + len(tok)))
        pos += len(tok) + 1
    out, j = [], 0
    begins = lambda l: l[:1] in ("B", "S")
    n = min(len(tokens), len(labels))
    while j < n:
        if not begins(labels[j]):
            j += 1
            continue
        end = j
        while end + 1 < n and labels[end + 1] not in ("O", "[PAD]") and not begins(labels[end + 1]):
            end += 1
        out.append((labels[j][2:], tokens[j][1], tokens[end][2], " ".join(t[0] for t in tokens[j:end + 1])))
        j = end + 1
    return out


def ner(client, rng):
    texts = column(f"{SMALL}/msra_ner/test.tsv", "text_a")
    preds = [p.split(" ") for p in column(f"{SCRATCH}/ner_pred.tsv", "pred_label")]
    want = [entities(t, p) for t, p in zip(texts, preds)]
    check(sum(map(len, want)) > 0, "the tagger predicts no entity: the comparison would be empty")
    got = {}
    for batch in chunks(list(range(len(texts))), rng):
        r = requests.post(f"{URL}/ner", json={"inputs": [texts[i] for i in batch], "model": "tagger"})
        check(r.status_code == 200, f"/ner: {r.status_code} {r.text}")
        for i, row in zip(batch, r.json()):
            got[i] = [(e["entity_group"], e["start"], e["end"], e["word"]) for e in row]
            check(all(0 < e["score"] <= 1 for e in row), f"/ner scores: {row}")
    bad = [i for i in range(len(texts)) if got[i] != want[i]]
    check(not bad, f"served entities differ from run_ner_infer's at rows {bad[:5]}: {[(got[i], want[i]) for i in bad[:2]]}")
    t = triton.InferInput("TEXT", [1], "BYTES")
    t.set_data_from_numpy(np.array([texts[0].encode()], dtype=object), binary_data=False)
    r = client.infer("tagger", [t])
    check([tuple(e.values()) for e in json.loads(r.as_numpy("entities")[0])] != None, "KServe entities output")


def reading(client):
    """The reader's answers equal run_mrc_infer's ({question id: answer}), alone or batched."""
    want = json.load(open(f"{SCRATCH}/mrc_pred.json", encoding="utf-8"))
    questions = [(qa["id"], qa["question"], p["context"]) for d in json.load(open(f"{SMALL}/cmrc2018/dev.json", encoding="utf-8"))["data"]
                 for p in d["paragraphs"] for qa in p["qas"]]
    batch = requests.post(f"{URL}/mrc", json={"inputs": [{"question": q, "context": c} for _, q, c in questions]}).json()
    for (qid, q, c), got in zip(questions, batch):
        alone = requests.post(f"{URL}/mrc", json={"inputs": {"question": q, "context": c}}).json()
        same = (alone is None and got is None) or (alone and got and abs(alone.pop("score") - got["score"]) <= 1e-6
                                                    and all(alone[k] == got[k] for k in alone))
        check(same, f"mrc {qid}: alone {alone} vs batched {got}")
        text = got["answer"] if got else ""
        check(text == want[qid], f"mrc {qid}: served {text!r}, run_mrc_infer {want[qid]!r}")
        check(not got or c[got["start"]:got["end"]] == text, f"mrc {qid}: offsets {got}")
    t, p = triton.InferInput("TEXT", [1], "BYTES"), triton.InferInput("TEXT_PAIR", [1], "BYTES")
    t.set_data_from_numpy(np.array([questions[0][1].encode()], dtype=object))
    p.set_data_from_numpy(np.array([questions[0][2].encode()], dtype=object))
    answer = json.loads(client.infer("reader", [t, p]).as_numpy("answer")[0])
    check((answer or {}).get("word", "") == want[questions[0][0]], f"KServe answer {answer}")
    r = requests.post(f"{URL}/mrc", json={"inputs": {"question": "q"}})
    check(error_of(r, 400, "inputs.context"), f"/mrc without a context: {r.text}")


def embeddings():
    short, long_ = "今天天气很好", "这是一句比较长的句子，用来和短句放在同一批里计算。" * 2
    alone = requests.post(f"{URL}/embed", json={"inputs": short, "normalize": False, "model": "encoder"}).json()[0]
    mixed = requests.post(f"{URL}/embed", json={"inputs": [long_, short], "normalize": False}).json()[1]
    check(all(abs(a - b) <= 1e-6 for a, b in zip(alone, mixed)), "an embedding depends on its batch")
    unit = requests.post(f"{URL}/embed", json={"inputs": [short]}).json()[0]
    check(abs(math.sqrt(sum(v * v for v in unit)) - 1) < 1e-5, "normalize: not a unit vector")
    norm = math.sqrt(sum(v * v for v in alone))
    check(all(abs(u - a / norm) < 1e-6 for u, a in zip(unit, alone)), "normalize: not the raw vector scaled")
    r = requests.post(f"{URL}/embed", json={"inputs": "字" * 100, "truncate": False})
    check(error_of(r, 422, "more than 64 tokens"), f"/embed of a long text without truncate: {r.status_code} {r.text}")
    check(requests.post(f"{URL}/embed", json={"inputs": "字" * 100, "truncate": True}).status_code == 200, "/embed truncate")


def routes_and_errors(client):
    check(client.is_server_live() and client.is_server_ready() and client.is_model_ready("sentiment"), "health")
    meta = client.get_model_metadata("sentiment")
    check([i["name"] for i in meta["inputs"]] == ["TEXT"] and meta["outputs"][0]["shape"] == [-1, 2], f"metadata {meta}")
    check(client.get_model_config("encoder")["pooling"] == "mean", "model config")
    check(client.get_server_metadata()["name"] == "uer-cc", "server metadata")
    info = requests.get(f"{URL}/info", params={"model": "tagger"}).json()
    check(info["model_type"]["ner"]["id2label"]["0"] == "[PAD]" and info["max_input_length"] == 64, f"/info {info}")
    tok = requests.post(f"{URL}/tokenize", json={"inputs": "我在北京", "model": "sentiment"}).json()
    check([x["text"] for x in tok[0]] == ["[CLS]", "我", "在", "北", "京"] and tok[0][0]["special"], f"/tokenize {tok}")
    post = lambda path, body: requests.post(f"{URL}{path}", data=body if isinstance(body, str) else json.dumps(body))
    check(error_of(post("/predict", '{"inputs": '), 400, "malformed JSON"), "malformed JSON")
    check(error_of(post("/predict", {"input": "x", "model": "sentiment"}), 400, "inputs"), "missing inputs")
    check(error_of(post("/predict", {"inputs": ["a", "b"], "model": "sentiment"}), 422, "pair"), "a pair to a single-text model")
    check(error_of(post("/predict", {"inputs": "", "model": "sentiment"}), 422, "inputs[0]"), "an empty text")
    check(error_of(post("/predict", {"inputs": "x", "model": "nope"}), 404, "nope"), "/predict: unknown model")
    check(error_of(post("/tokenize", {"inputs": "x"}), 400, "name one"), "/tokenize without a model among several")
    check(error_of(post("/embed", {"inputs": "x", "model": "sentiment"}), 422, "/embed"), "/embed on a classifier")
    check(error_of(requests.get(f"{URL}/predict"), 400, "POST"), "GET /predict")
    check(error_of(requests.get(f"{URL}/nothing"), 404, "no route"), "an unknown route")
    infer = lambda model, body: post(f"/v2/models/{model}/infer", body)
    text = {"name": "TEXT", "shape": [1], "datatype": "BYTES", "data": ["好"]}
    check(error_of(infer("nope", {"inputs": [text]}), 404, "nope"), "KServe: unknown model")
    check(error_of(infer("sentiment", {"inputs": [dict(text, name="TXT")]}), 400, "inputs[0].name"), "KServe: input name")
    check(error_of(infer("sentiment", {"inputs": [text, dict(text, name="TEXT_PAIR")]}), 422, "TEXT_PAIR"), "KServe: a pair")
    check(error_of(infer("sentiment", {"inputs": [dict(text, datatype="FP32")]}), 400, "datatype"), "KServe: datatype")
    check(error_of(infer("sentiment", {"inputs": [dict(text, shape=[2])]}), 400, "shape"), "KServe: shape")
    check(error_of(infer("sentiment", {"inputs": [text], "outputs": [{"name": "scores"}]}), 400, "outputs[0].name"), "KServe: output")
    r = requests.post(f"{URL}/v2/models/sentiment/infer", data=b'{"inputs":[]}xx', headers={"Inference-Header-Content-Length": "99"})
    check(error_of(r, 400, "Inference-Header-Content-Length"), f"KServe: a bad binary header {r.text}")


def slow(pid):
    """The server batches after 1.5 s and holds 4 requests at most."""
    def embed(timeout=30):
        return requests.post(f"{URL}/embed", json={"inputs": "好", "model": "encoder"}, timeout=timeout)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        start = time.time()
        futures = [pool.submit(embed) for _ in range(8)]
        codes = sorted(f.result().status_code for f in futures)
    check(codes == [200] * 4 + [429] * 4, f"8 requests with room for 4: {codes}")
    r = requests.post(f"{URL}/embed", json={"inputs": "好"}, timeout=30)
    # A client that leaves while its input waits: dropped before batching.
    try:
        embed(timeout=0.3)
        check(False, "the request should have timed out on the client")
    except requests.exceptions.Timeout:
        pass
    time.sleep(2)
    metrics = requests.get(f"{URL}/metrics").text
    check('uer_inputs_dropped{model="encoder"} 1' in metrics, "the input of a client that left was not dropped")
    check('route="embed",code="499"} 1' in metrics, "no 499 for the client that left")
    # KServe's timeout (microseconds): past it while queued, 504.
    body = {"inputs": [{"name": "TEXT", "shape": [1], "datatype": "BYTES", "data": ["好"]}], "parameters": {"timeout": 1000}}
    r = requests.post(f"{URL}/v2/models/encoder/infer", json=body)
    check(error_of(r, 504, "timeout"), f"a request past its timeout: {r.status_code} {r.text}")
    # SIGTERM with 4 requests queued: each is answered, then the server exits.
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(embed) for _ in range(4)]
        time.sleep(0.5)
        os.kill(pid, signal.SIGTERM)
        codes = [f.result().status_code for f in futures]
    check(codes == [200] * 4, f"requests accepted before SIGTERM: {codes}")


def slowloris():
    """Clients that open connections and trickle half a request hold no worker: others are answered."""
    import socket
    held = []
    for _ in range(64):
        s = socket.create_connection(("127.0.0.1", int(PORT)))
        s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"inp")
        held.append(s)
    start = time.time()
    r = requests.post(f"{URL}/predict", json={"inputs": "好", "model": "sentiment"}, timeout=10)
    check(r.status_code == 200 and time.time() - start < 2, f"with 64 half-sent requests open: {r.status_code}, "
          f"{time.time() - start:.2f} s")
    for s in held:
        s.close()


def main():
    if "--slow" in sys.argv:
        slow(int(sys.argv[sys.argv.index("--slow") + 1]))
    else:
        rng = random.Random(7)
        client = triton.InferenceServerClient(f"127.0.0.1:{PORT}", concurrency=8, network_timeout=30)
        routes_and_errors(client)
        classifier(client, rng)
        ner(client, rng)
        reading(client)
        embeddings()
        slowloris()
    print(f"{len(failures)} failures" if failures else "serve_client: all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
