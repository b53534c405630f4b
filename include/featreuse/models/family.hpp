#pragma once
// The model families the registry knows, as a type (the recipe's
// `optimizer: auto` and the analyses pick by family).
namespace featreuse::models {

enum class Family { resnet, inception, deit, swin };

// "resnet", "inception", "deit", "swin".
const char* family_name(Family family);
// DeiT and Swin: the paper trains them with AdamW, the CNNs with Adam.
inline bool is_vision_transformer(Family family) { return family == Family::deit || family == Family::swin; }

}  // namespace featreuse::models
