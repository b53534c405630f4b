#include "featreuse/train/evaluate.hpp"

#include <ATen/ATen.h>

#include <cmath>

#include "featreuse/train/metrics.hpp"

namespace featreuse::train {

bool is_multi_label(const data::Dataset& dataset) { return dataset.info().labels == data::LabelKind::multi; }

at::Tensor loss_of(const at::Tensor& logits, const at::Tensor& labels, bool multi_label) {
  return multi_label ? at::binary_cross_entropy_with_logits(logits, labels.to(at::kFloat))
                     : at::cross_entropy_loss(logits, labels);
}

std::map<std::string, double> Evaluation::metrics() const {
  MetricInput input;
  input.n = n;
  input.num_classes = num_classes;
  input.logits = logits.data();
  if (targets.empty())
    input.labels = labels.data();
  else
    input.targets = targets.data();
  return classification_metrics(input);
}

c10::Device network_device(models::Network& net) {
  for (const auto& p : net.parameters()) return p.device();
  return c10::Device(c10::kCPU);
}

namespace {

template <typename T>
void append(std::vector<T>& out, const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  out.insert(out.end(), c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}
}  // namespace

EvaluationBuilder::EvaluationBuilder(int64_t num_classes, bool multi_label) : multi_(multi_label) {
  out_.num_classes = num_classes;
}

// On the host whatever device the network ran on: the store and the metrics
// read the numbers from there.
void EvaluationBuilder::add(const at::Tensor& logits, const at::Tensor& labels) {
  const at::Tensor scores = logits.to(at::kCPU, at::kFloat);
  const at::Tensor truth = labels.to(at::kCPU);
  loss_sum_ += loss_of(scores, truth, multi_).item<double>() * double(truth.size(0));
  append<float>(out_.logits, scores);
  if (multi_)
    append<float>(out_.targets, truth.to(at::kFloat));
  else
    append<int64_t>(out_.labels, truth.to(at::kLong));
  out_.n += truth.size(0);
}

Evaluation EvaluationBuilder::finish() {
  out_.loss = out_.n > 0 ? loss_sum_ / double(out_.n) : std::nan("");
  return std::move(out_);
}

Evaluation evaluate(models::Network& net, const data::Dataset& dataset, data::Split split, int64_t batch_size,
                    const std::vector<int64_t>& subset) {
  at::NoGradGuard no_grad;
  net.eval();
  EvaluationBuilder out(dataset.info().num_classes, is_multi_label(dataset));
  auto stream = dataset.evaluation_stream(split, batch_size, subset);
  const c10::Device device = network_device(net);
  data::Batch batch;
  while (stream->next(batch)) out.add(net.forward(batch.images.to(device)), batch.labels);
  net.train();
  return out.finish();
}

Evaluation evaluate_in_group(models::Network& net, const data::Dataset& dataset, data::Split split,
                             int64_t batch_size, dist::GradientReducer& group, int rank) {
  const int64_t n = dataset.size(split), ranks = group.size();
  std::vector<int64_t> mine;
  for (int64_t i = rank; i < n; i += ranks) mine.push_back(i);
  const Evaluation part = evaluate(net, dataset, split, batch_size, mine);
  const int64_t classes = dataset.info().num_classes;
  const bool multi = is_multi_label(dataset);
  // Every rank fills its rows of the whole: [loss sum | logits | labels or targets].
  std::vector<double> whole(size_t(1 + n * classes + (multi ? n * classes : n)), 0.0);
  double* logits = whole.data() + 1;
  double* labels = logits + n * classes;
  whole[0] = part.n > 0 ? part.loss * double(part.n) : 0.0;
  for (int64_t k = 0; k < part.n; ++k) {
    const int64_t row = mine[size_t(k)];
    for (int64_t c = 0; c < classes; ++c) logits[row * classes + c] = part.logits[size_t(k * classes + c)];
    if (multi)
      for (int64_t c = 0; c < classes; ++c) labels[row * classes + c] = part.targets[size_t(k * classes + c)];
    else
      labels[row] = double(part.labels[size_t(k)]);
  }
  group.sum(whole);
  Evaluation out;
  out.n = n;
  out.num_classes = classes;
  out.loss = n > 0 ? whole[0] / double(n) : std::nan("");
  out.logits.assign(logits, logits + n * classes);
  if (multi)
    out.targets.assign(labels, labels + n * classes);
  else
    for (int64_t i = 0; i < n; ++i) out.labels.push_back(int64_t(std::lround(labels[i])));
  return out;
}

}  // namespace featreuse::train
