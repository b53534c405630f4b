// Synthetic datasets in the public layouts. Each class (or label) paints a
// distinct pattern, strong enough to learn in a few epochs, under noise.
#include "featreuse/data/synth.hpp"

#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "featreuse/core/error.hpp"
#include "featreuse/core/text.hpp"
#include "featreuse/data/dicom.hpp"
#include "featreuse/data/image.hpp"
#include "featreuse/data/layout.hpp"
#include "featreuse/store/h5.hpp"

namespace featreuse::data {

namespace {

namespace fs = std::filesystem;

struct Rng {
  std::mt19937_64 engine;
  explicit Rng(uint64_t seed) : engine(seed) {}
  double uniform() { return double(engine() >> 11) * (1.0 / 9007199254740992.0); }
  int64_t below(int64_t n) { return int64_t(uniform() * double(n)); }
};

struct Canvas {
  Image img;
  Canvas(int w, int h, int c) {
    img.width = w;
    img.height = h;
    img.channels = c;
    img.pixels.assign(img.bytes(), 0);
  }
  void fill(const double* color) {
    for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = uint8_t(color[i % img.channels]);
  }
  // A soft-edged disk blended over the image.
  void disk(double cx, double cy, double r, const double* color, double alpha = 1.0) {
    const int x0 = std::max(0, int(cx - r - 2)), x1 = std::min(img.width - 1, int(cx + r + 2));
    const int y0 = std::max(0, int(cy - r - 2)), y1 = std::min(img.height - 1, int(cy + r + 2));
    for (int y = y0; y <= y1; ++y)
      for (int x = x0; x <= x1; ++x) {
        const double d = std::hypot(x - cx, y - cy);
        const double a = alpha * std::clamp(r + 0.5 - d, 0.0, 1.0);
        if (a <= 0) continue;
        uint8_t* p = &img.pixels[(size_t(y) * img.width + x) * img.channels];
        for (int ch = 0; ch < img.channels; ++ch)
          p[ch] = uint8_t(std::lround(p[ch] * (1 - a) + color[ch] * a));
      }
  }
  void rect(int x0, int y0, int x1, int y1, const double* color, double alpha) {
    for (int y = std::max(0, y0); y < std::min(img.height, y1); ++y)
      for (int x = std::max(0, x0); x < std::min(img.width, x1); ++x) {
        uint8_t* p = &img.pixels[(size_t(y) * img.width + x) * img.channels];
        for (int ch = 0; ch < img.channels; ++ch)
          p[ch] = uint8_t(std::lround(p[ch] * (1 - alpha) + color[ch] * alpha));
      }
  }
  // Uniform noise of +-amplitude levels (cheap, deterministic).
  void noise(Rng& rng, int amplitude) {
    uint64_t s = rng.engine();
    for (auto& v : img.pixels) {
      s ^= s << 13;
      s ^= s >> 7;
      s ^= s << 17;
      const int delta = int(s % uint64_t(2 * amplitude + 1)) - amplitude;
      v = uint8_t(std::clamp(int(v) + delta, 0, 255));
    }
  }
};

std::string path_str(const fs::path& p) { return p.string(); }

void write_text(const fs::path& path, const std::string& text, SynthReport& report) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw Error("cannot write '" + path.string() + "'");
  report.files.push_back(path.string());
}

std::string hex_id(Rng& rng, int digits) {
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < digits; ++i) s += hex[rng.below(16)];
  return s;
}

// APTOS: a fundus-like disk; the grade sets its tint and the number of lesions.
void synth_aptos(const SynthOptions& o, SynthReport& report) {
  const fs::path root = o.out;
  fs::create_directories(root / "train_images");
  Rng rng(o.seed);
  const int64_t n = o.n ? o.n : 60;
  const int w = o.width ? o.width : 320, h = o.height ? o.height : 240;
  std::ostringstream csv;
  csv << "id_code,diagnosis\n";
  for (int64_t i = 0; i < n; ++i) {
    const int grade = int(i % 5);
    const std::string id = hex_id(rng, 12);
    Canvas c(w, h, 3);
    const double black[3] = {0, 0, 0};
    c.fill(black);
    const double fundus[3] = {150.0 + 20 * grade, 70.0 + 5 * grade, 30.0 + 12 * grade};
    c.disk(w / 2.0, h / 2.0, std::min(w, h) * 0.45, fundus);
    const double lesion[3] = {250, 230, 120};
    for (int k = 0; k < 3 * grade; ++k)
      c.disk(w * (0.3 + 0.4 * rng.uniform()), h * (0.3 + 0.4 * rng.uniform()), std::min(w, h) * 0.03, lesion);
    c.noise(rng, 3);
    write_png(path_str(root / "train_images" / (id + ".png")), c.img, 8, o.png_compression);
    csv << id << "," << grade << "\n";
  }
  write_text(root / "train.csv", csv.str(), report);
  report.images = n;
}

// ISIC2019: a lesion on skin; the class sets its colour and size.
void synth_isic(const SynthOptions& o, SynthReport& report) {
  const fs::path root = o.out;
  const fs::path images = root / "ISIC_2019_Training_Input";
  fs::create_directories(images);
  Rng rng(o.seed);
  const int64_t n = o.n ? o.n : 64;
  const char* classes[9] = {"MEL", "NV", "BCC", "AK", "BKL", "DF", "VASC", "SCC", "UNK"};
  std::ostringstream gt, meta;
  gt << "image";
  for (const char* c : classes) gt << "," << c;
  gt << "\n";
  meta << "image,age_approx,anatom_site_general,lesion_id,sex\n";
  for (int64_t i = 0; i < n; ++i) {
    const int k = int(i % 8);
    char id[32];
    std::snprintf(id, sizeof id, "ISIC_%07lld", static_cast<long long>(i));
    // Most archive images are 1024 x 768 or 600 x 450; every 8th one is large here.
    int w = o.width ? o.width : 300, h = o.height ? o.height : 225;
    if (!o.width && i % 8 == 7) {
      w = 1024;
      h = 768;
    }
    Canvas c(w, h, 3);
    const double skin[3] = {225, 180, 160};
    c.fill(skin);
    const double lesion[3] = {40.0 + 25 * k, 200.0 - 20 * k, 60.0 + 15 * (k % 4)};
    c.disk(w * (0.4 + 0.2 * rng.uniform()), h * (0.4 + 0.2 * rng.uniform()),
           std::min(w, h) * (0.15 + 0.03 * k), lesion);
    c.noise(rng, 4);
    write_jpeg(path_str(images / (std::string(id) + ".jpg")), c.img, 92);
    gt << id;
    for (int j = 0; j < 9; ++j) gt << "," << (j == k ? "1.0" : "0.0");
    gt << "\n";
    meta << id << "," << 30 + 5 * (i % 10) << ",anterior torso,IL_" << 1000000 + i << ","
         << (i % 2 ? "male" : "female") << "\n";
  }
  write_text(root / "ISIC_2019_Training_GroundTruth.csv", gt.str(), report);
  write_text(root / "ISIC_2019_Training_Metadata.csv", meta.str(), report);
  report.images = n;
}

// CheXpert: each positive finding brightens its own cell of a 4 x 4 grid.
void synth_chexpert(const SynthOptions& o, SynthReport& report) {
  const fs::path root = o.out;
  Rng rng(o.seed);
  const int64_t n = o.n ? o.n : 60;
  const int w = o.width ? o.width : 320, h = o.height ? o.height : 390;
  const char* labels[14] = {"No Finding",       "Enlarged Cardiomediastinum",
                            "Cardiomegaly",     "Lung Opacity",
                            "Lung Lesion",      "Edema",
                            "Consolidation",    "Pneumonia",
                            "Atelectasis",      "Pneumothorax",
                            "Pleural Effusion", "Pleural Other",
                            "Fracture",         "Support Devices"};
  std::ostringstream csv;
  csv << "Path,Sex,Age,Frontal/Lateral,AP/PA";
  for (const char* l : labels) csv << "," << l;
  csv << "\n";
  int64_t written = 0;
  for (int patient = 1; written < n; ++patient) {
    const int studies = 1 + int(rng.below(2));
    // The official list has some studies out of order (study2 before study1).
    for (int si = 0; si < studies && written < n; ++si) {
      const int study = patient % 3 == 2 ? studies - si : si + 1;
      const int views = 1 + int(rng.below(2));
      for (int view = 1; view <= views && written < n; ++view, ++written) {
        char rel[128];
        const bool frontal = view == 1;
        std::snprintf(rel, sizeof rel, "train/patient%05d/study%d/view%d_%s.jpg", patient, study, view,
                      frontal ? "frontal" : "lateral");
        Canvas c(w, h, 1);
        const double base[1] = {60};
        c.fill(base);
        const double lung[1] = {110};
        c.disk(w * 0.3, h * 0.5, w * 0.2, lung);
        c.disk(w * 0.7, h * 0.5, w * 0.2, lung);
        csv << "CheXpert-v1.0-small/" << rel << "," << (patient % 2 ? "Male" : "Female") << ","
            << 20 + patient % 60 << "," << (frontal ? "Frontal" : "Lateral") << "," << (frontal ? "AP" : "");
        bool any = false;
        std::string cells[14];
        for (int k = 1; k < 14; ++k) {
          const double u = rng.uniform();
          if (u < 0.25) {
            cells[k] = "1.0";
            any = true;
            const double bright[1] = {235};
            c.rect(int(w * (k % 4) / 4.0), int(h * (k / 4) / 4.0), int(w * (k % 4 + 1) / 4.0),
                   int(h * (k / 4 + 1) / 4.0), bright, 0.6);
          } else if (u < 0.35) {
            cells[k] = "-1.0";  // uncertain: U-Zeros makes it 0
          } else if (u < 0.5) {
            cells[k] = "0.0";
          }  // else blank (NaN)
        }
        cells[0] = any ? "" : (rng.uniform() < 0.5 ? "1.0" : "");
        for (const auto& cell : cells) csv << "," << cell;
        csv << "\n";
        c.noise(rng, 5);
        fs::create_directories((root / rel).parent_path());
        write_jpeg(path_str(root / rel), c.img, 90);
      }
    }
  }
  write_text(root / "train.csv", csv.str(), report);
  // valid.csv exists in the archive (unused by the reference): a header only here.
  write_text(root / "valid.csv", csv.str().substr(0, csv.str().find('\n') + 1), report);
  report.images = n;
}

// CBIS-DDSM, both forms in one folder (for cbis_ddsm and cbis_ddsm_pathology):
// the reference's lists (normal / benign / cancer PNGs, 16-bit like converted
// DICOMs) and the description CSVs, their images as PNGs at the CSVs' paths or
// (options.dicom) as DICOMs in the download tree.
void synth_cbis_ddsm(const SynthOptions& o, SynthReport& report) {
  const fs::path root = o.out;
  Rng rng(o.seed);
  const int64_t n = o.n ? o.n : 60;
  const int w = o.width ? o.width : 260, h = o.height ? o.height : 340;
  auto mammogram = [&](int kind) {  // 0 normal, 1 benign, 2 malignant
    Canvas c(w, h, 1);
    const double dark[1] = {15};
    c.fill(dark);
    const double tissue[1] = {110.0 + 15 * kind};  // denser tissue with findings: an easy global cue
    c.disk(0, h / 2.0, h * 0.48, tissue);
    if (kind > 0) {
      const double mass[1] = {kind == 2 ? 250.0 : 185.0};
      c.disk(w * (0.15 + 0.2 * rng.uniform()), h * (0.35 + 0.3 * rng.uniform()),
             h * (kind == 2 ? 0.09 : 0.06), mass);
    }
    c.noise(rng, 6);
    return c.img;
  };
  // Reference lists.
  const char* prefix[3] = {"normal", "benign", "cancer"};
  std::ostringstream lists[3];
  for (int64_t i = 0; i < n; ++i) {
    const int kind = int(i % 3);
    char name[64];
    std::snprintf(name, sizeof name, "%s_%04lld_%s.png", prefix[kind], static_cast<long long>(i),
                  i % 2 ? "LEFT_CC" : "RIGHT_MLO");
    const std::string rel = std::string(prefix[kind]) + "/" + name;
    fs::create_directories(root / "ddsm_raw" / prefix[kind]);
    write_png(path_str(root / "ddsm_raw" / rel), mammogram(kind), 16, o.png_compression);
    const int split = i % 10 == 8 ? 1 : i % 10 == 9 ? 2 : 0;  // 80/10/10
    lists[split] << rel << "\n";
  }
  const char* list_names[3] = {"train.txt", "val.txt", "test.txt"};
  for (int s = 0; s < 3; ++s)
    write_text(root / "ddsm_raw_image_lists" / list_names[s], lists[s].str(), report);
  // Description CSVs (mass and calc, train and test), images at the DICOM paths as PNG.
  const std::string header_mass =
      "patient_id,breast_density,left or right breast,image view,abnormality id,abnormality type,mass shape,"
      "mass margins,assessment,pathology,subtlety,image file path,cropped image file path,ROI mask file "
      "path\n";
  const std::string header_calc =
      "patient_id,breast density,left or right breast,image view,abnormality id,abnormality type,calc type,"
      "calc distribution,assessment,pathology,subtlety,image file path,cropped image file path,ROI mask file "
      "path\n";
  std::ostringstream tables[4];
  const char* table_names[4] = {"mass_case_description_train_set.csv", "calc_case_description_train_set.csv",
                                "mass_case_description_test_set.csv", "calc_case_description_test_set.csv"};
  for (int t = 0; t < 4; ++t) tables[t] << (t % 2 == 0 ? header_mass : header_calc);
  for (int64_t i = 0; i < n; ++i) {
    const bool test = i % 5 == 4, calc = i % 2 == 1;
    const bool malignant = rng.uniform() < 0.5;
    const int patient = int(i / 2);  // two views per patient
    const std::string side = i % 4 < 2 ? "LEFT" : "RIGHT", view = i % 2 ? "MLO" : "CC";
    char pid[16];
    std::snprintf(pid, sizeof pid, "P_%05d", patient);
    const std::string folder = std::string(calc ? "Calc" : "Mass") + (test ? "-Test_" : "-Training_") + pid +
                               "_" + side + "_" + view;
    const std::string uid = "1.3.6.1.4.1.9590.100.1.2." + std::to_string(100000 + i);
    // The series UID: "<study>.1" for PNGs (as before), a UID of its own for DICOMs.
    const std::string series =
        o.dicom ? "1.3.6.1.4.1.9590.100.1.2." + std::to_string(500000 + 37 * i) : uid + ".1";
    const std::string dcm = folder + "/" + uid + "/" + series + "/000000.dcm";
    const Image image = mammogram(malignant ? 2 : 1);
    if (o.dicom) {
      // As the NBIA retriever names the folders; three kinds of stored values
      // that all decode to the same 8-bit picture (min-max).
      const fs::path file = root / "CBIS-DDSM" / folder / ("07-20-2016-DDSM-" + uid.substr(uid.size() - 5)) /
                            ("1.000000-full mammogram images-" + series.substr(series.size() - 5)) /
                            "1-1.dcm";
      fs::create_directories(file.parent_path());
      DicomWriteOptions d;
      d.study_uid = uid;
      d.series_uid = series;
      d.instance_uid = series + ".1";
      std::vector<uint16_t> stored(image.pixels.size());
      for (size_t k = 0; k < stored.size(); ++k) {
        const int v = image.pixels[k];
        stored[k] = uint16_t(i % 3 == 0 ? v * 257 : i % 3 == 1 ? 65535 - v * 257 : v * 16);
      }
      d.monochrome1 = i % 3 == 1;
      if (i % 3 == 2) {
        d.bits_stored = 12;
        d.slope = 2;
        d.intercept = -1024;
      }
      write_dicom(path_str(file), stored, image.width, image.height, d);
    } else {
      fs::path png = root / dcm;
      png.replace_extension(".png");
      fs::create_directories(png.parent_path());
      write_png(path_str(png), image, 8, o.png_compression);
    }
    const int t = (test ? 2 : 0) + (calc ? 1 : 0);
    // Two abnormalities on some images: the image is malignant if any is.
    const int rows = i % 7 == 0 ? 2 : 1;
    for (int r = 0; r < rows; ++r) {
      const bool row_malignant = malignant && r == rows - 1;
      tables[t] << pid << ",3," << side << "," << view << "," << r + 1 << ","
                << (calc ? "calcification" : "mass") << ",OVAL,CIRCUMSCRIBED,4,"
                << (row_malignant ? "MALIGNANT" : (r ? "BENIGN_WITHOUT_CALLBACK" : "BENIGN")) << ",3," << dcm
                << ",\"" << folder << "_" << r + 1 << "/crop.dcm\n\",\"" << folder << "_" << r + 1
                << "/roi.dcm\n\"\n";  // the public CSVs have newlines inside these quoted paths
    }
  }
  for (int t = 0; t < 4; ++t) write_text(root / table_names[t], tables[t].str(), report);
  report.images = 2 * n;
}

// PCam: the official HDF5 files (gzip-chunked like the originals) and meta CSVs.
void synth_pcam(const SynthOptions& o, SynthReport& report) {
  const fs::path root = o.out;
  fs::create_directories(root);
  Rng rng(o.seed);
  const int64_t n = o.n ? o.n : 80;
  const int64_t counts[3] = {n - 2 * (n * 15 / 100), n * 15 / 100, n * 15 / 100};
  const char* splits[3] = {"train", "valid", "test"};
  int64_t total = 0;
  for (int s = 0; s < 3; ++s) {
    const hsize_t m = hsize_t(counts[s]);
    std::vector<uint8_t> x(m * 96 * 96 * 3), y(m);
    std::ostringstream meta;
    meta << ",coord_y,coord_x,tumor_patch,center_tumor_patch,wsi\n";
    for (hsize_t i = 0; i < m; ++i) {
      const bool tumor = (i + s) % 2 == 1;
      Canvas c(96, 96, 3);
      const double stroma[3] = {235, 190, 215};
      c.fill(stroma);
      const double nucleus[3] = {90, 40, 140};
      for (int k = 0; k < (tumor ? 40 : 8); ++k)
        c.disk(96 * rng.uniform(), 96 * rng.uniform(), tumor ? 4.5 : 3.0, nucleus);
      c.noise(rng, 6);
      std::copy(c.img.pixels.begin(), c.img.pixels.end(), x.begin() + i * 96 * 96 * 3);
      y[i] = tumor;
      meta << i << "," << 1000 + i << "," << 2000 + i << "," << (tumor ? "True" : "False") << ","
           << (tumor ? "True" : "False") << ",camelyon16_train_normal_" << s << "\n";
    }
    auto write = [&](const std::string& name, const char* key, const std::vector<hsize_t>& dims,
                     const std::vector<uint8_t>& data) {
      const fs::path path = root / name;
      h5::Handle file = h5::create_serial(path.string());
      h5::Handle space(
          h5::check(H5Screate_simple(int(dims.size()), dims.data(), nullptr), "H5Screate_simple"));
      h5::Handle dcpl(h5::check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate"));
      std::vector<hsize_t> chunk = dims;
      chunk[0] = std::max<hsize_t>(1, std::min<hsize_t>(dims[0], 32));
      h5::check(H5Pset_chunk(dcpl, int(chunk.size()), chunk.data()), "H5Pset_chunk");
      h5::check(H5Pset_deflate(dcpl, 4), "H5Pset_deflate");
      h5::Handle d(h5::check(H5Dcreate2(file, key, H5T_STD_U8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
                             "H5Dcreate2 " + name));
      if (dims[0]) h5::write_all(d, H5T_NATIVE_UINT8, data.data());
      report.files.push_back(path.string());
    };
    const std::string base = std::string("camelyonpatch_level_2_split_") + splits[s];
    write(base + "_x.h5", "x", {m, 96, 96, 3}, x);
    write(base + "_y.h5", "y", {m, 1, 1, 1}, y);
    write_text(root / (base + "_meta.csv"), meta.str(), report);
    total += counts[s];
  }
  report.images = total;
}

// Generic layouts: three classes told apart by colour and shape.
Image generic_image(Rng& rng, int cls, int w, int h, int channels) {
  Canvas c(w, h, channels);
  const double bg[3] = {90, 90, 90};
  c.fill(bg);
  const double colors[3][3] = {{220, 60, 60}, {60, 200, 80}, {70, 90, 230}};
  const double* color = colors[cls % 3];
  double gray[3] = {60.0 + 80 * cls, 0, 0};
  if (cls == 1)
    c.rect(w / 4, h / 4, 3 * w / 4, 3 * h / 4, channels == 3 ? color : gray, 1.0);
  else
    c.disk(w * (0.4 + 0.2 * rng.uniform()), h / 2.0, std::min(w, h) * (cls == 0 ? 0.2 : 0.35),
           channels == 3 ? color : gray);
  c.noise(rng, 8);
  return c.img;
}

void synth_folder(const SynthOptions& o, SynthReport& report) {
  const fs::path root = o.out;
  Rng rng(o.seed);
  const int64_t n = o.n ? o.n : 45;
  const int w = o.width ? o.width : 64, h = o.height ? o.height : 48;
  const char* classes[3] = {"circle", "square", "large_circle"};
  for (int64_t i = 0; i < n; ++i) {
    const int cls = int(i % 3);
    const fs::path dir = root / classes[cls];
    fs::create_directories(dir);
    const Image img = generic_image(rng, cls, w, h, 3);
    char name[32];
    std::snprintf(name, sizeof name, "img_%04lld", static_cast<long long>(i));
    if (i % 4 == 3)
      write_jpeg(path_str(dir / (std::string(name) + ".jpg")), img, 92);
    else
      write_png(path_str(dir / (std::string(name) + ".png")), img, 8, o.png_compression);
  }
  report.images = n;
}

void synth_csv(const SynthOptions& o, SynthReport& report) {
  const fs::path root = o.out;
  fs::create_directories(root / "images");
  Rng rng(o.seed);
  const int64_t n = o.n ? o.n : 45;
  const int w = o.width ? o.width : 64, h = o.height ? o.height : 48;
  const char* classes[3] = {"circle", "square", "large_circle"};
  std::ostringstream csv;
  csv << "path,label,has_red,has_square\n";
  for (int64_t i = 0; i < n; ++i) {
    const int cls = int(i % 3);
    char name[32];
    std::snprintf(name, sizeof name, "img_%04lld.png", static_cast<long long>(i));
    write_png(path_str(root / "images" / name), generic_image(rng, cls, w, h, 3), 8, o.png_compression);
    csv << "images/" << name << "," << classes[cls] << "," << (cls == 0 ? 1 : 0) << "," << (cls == 1 ? 1 : 0)
        << "\n";
  }
  write_text(root / "labels.csv", csv.str(), report);
  report.images = n;
}

}  // namespace

SynthReport write_synthetic(const SynthOptions& o) {
  if (o.out.empty()) throw Error("synth: no output folder given");
  if (o.n < 0) throw Error("synth: the image count must be positive");
  if (o.width < 0 || o.height < 0 || o.width > 20000 || o.height > 20000)
    throw Error("synth: bad image size");
  fs::create_directories(o.out);
  SynthReport report;
  if (o.layout == "aptos2019")
    synth_aptos(o, report);
  else if (o.layout == "isic2019")
    synth_isic(o, report);
  else if (o.layout == "chexpert")
    synth_chexpert(o, report);
  else if (o.layout == "cbis_ddsm" || o.layout == "cbis_ddsm_pathology")
    synth_cbis_ddsm(o, report);
  else if (o.layout == "pcam")
    synth_pcam(o, report);
  else if (o.layout == "folder")
    synth_folder(o, report);
  else if (o.layout == "csv")
    synth_csv(o, report);
  else {
    const std::string known = join(layout_names());
    throw Error("synth: unknown dataset layout '" + o.layout + "' (known: " + known + ")");
  }
  return report;
}

}  // namespace featreuse::data
