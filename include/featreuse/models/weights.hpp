#pragma once
// Weight files: reading torchvision/timm checkpoints (.pth written by
// torch.save, zip or legacy format) and .safetensors, writing .safetensors,
// and loading a state_dict into a Network strictly by name and shape.
//
// Every reader treats its input as untrusted: a truncated or malformed file,
// an offset outside the file, an unknown dtype or overlapping tensors give a
// featreuse::Error naming the file and the problem, never a crash or a read
// outside the buffer. Nothing in a pickle is executed: a restricted unpickler
// understands only the objects a state_dict is made of.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "featreuse/models/network.hpp"

namespace featreuse::models {

// ---- safetensors (https://github.com/huggingface/safetensors format) ----
// 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {..}},
// then the raw little-endian tensor bytes, which the tensors must tile exactly.
struct SafetensorsFile {
  TensorList tensors;                           // in data-offset order
  std::map<std::string, std::string> metadata;  // "__metadata__"
};
// Parses an in-memory file; `name` is used in messages. The fuzz target's entry point.
SafetensorsFile parse_safetensors(const uint8_t* data, size_t size, const std::string& name);
SafetensorsFile read_safetensors(const std::string& path);
// Writes tensors (any of the supported dtypes; made contiguous) in the given
// order. Throws on duplicate names or an unsupported dtype.
void write_safetensors(const std::string& path, const TensorList& tensors,
                       const std::map<std::string, std::string>& metadata = {});
// The same file as bytes in memory.
std::string serialize_safetensors(const TensorList& tensors,
                                  const std::map<std::string, std::string>& metadata = {});

// ---- torch.save files ----
// Reads the state_dict of a .pth/.pt file: the zip format (torch >= 1.6) or
// the legacy format. If the top object is a dict with a "model" or
// "state_dict" entry holding tensors (timm/DeiT/Swin/training checkpoints),
// that entry is returned; otherwise the top dict itself. Non-tensor entries
// of the state_dict (e.g. "_metadata") are skipped. dtypes: float32/64/16,
// bfloat16, int64/32/16/8, uint8, bool.
TensorList read_torch_checkpoint(const std::string& path);
TensorList parse_torch_checkpoint(const uint8_t* data, size_t size, const std::string& name);

// Either format, chosen by the file's content, not its name.
TensorList read_weights(const std::string& path);

// ---- loading into a network ----
struct LoadOptions {
  // Load the classifier head (net.head_name()) too. Off: head entries in the
  // file are ignored and the network keeps its own head.
  bool keep_head = false;
  // Strip a "module." prefix (DataParallel/DDP checkpoints) when every key has it.
  bool strip_module_prefix = true;
  // Names the weights' origin (a file) in messages.
  std::string source = "weights";
};

// What load_weights did, for logs.
struct LoadReport {
  size_t loaded = 0;
  std::vector<std::string> skipped;  // head entries ignored (keep_head off)
  bool first_conv_sliced = false;    // 3-channel weight -> channel 0
  bool stripped_module_prefix = false;
};

// Copies `weights` into `net` strictly by name and shape (converting dtype to
// the network's). Every parameter and buffer of the network (outside the head
// unless keep_head) must be present; extra entries are errors. A 1-channel
// network takes channel 0 of a 3-channel weight at net.first_conv_name()
// (reference §1). Throws one featreuse::Error listing every missing,
// unexpected and mismatched key; the network is unchanged on error.
LoadReport load_weights(Network& net, const TensorList& weights, const LoadOptions& options = {});

// The network's parameters and buffers in state_dict order, detached (they
// share storage with the network), as weights to save; the head is included
// only if `with_head`.
TensorList network_weights(Network& net, bool with_head);

}  // namespace featreuse::models
