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

namespace {
template <typename T>
void append(std::vector<T>& out, const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  out.insert(out.end(), c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}
}  // namespace

Evaluation evaluate(models::Network& net, const data::Dataset& dataset, data::Split split, int64_t batch_size,
                    const std::vector<int64_t>& subset) {
  at::NoGradGuard no_grad;
  net.eval();
  Evaluation out;
  out.num_classes = dataset.info().num_classes;
  const bool multi = is_multi_label(dataset);
  auto stream = dataset.evaluation_stream(split, batch_size, subset);
  data::Batch batch;
  double loss_sum = 0;
  while (stream->next(batch)) {
    at::Tensor logits = net.forward(batch.images).to(at::kFloat);
    loss_sum += loss_of(logits, batch.labels, multi).item<double>() * double(batch.labels.size(0));
    append<float>(out.logits, logits);
    if (multi)
      append<float>(out.targets, batch.labels.to(at::kFloat));
    else
      append<int64_t>(out.labels, batch.labels.to(at::kLong));
    out.n += batch.labels.size(0);
  }
  out.loss = out.n > 0 ? loss_sum / double(out.n) : std::nan("");
  net.train();
  return out;
}

}  // namespace featreuse::train
