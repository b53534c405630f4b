#pragma once
// What the DICOM reader and writer share: GDCM prints warnings and errors to
// stderr; ours name the file instead.
namespace featreuse::data {

// Turns GDCM's own messages off, once per process.
void quiet_gdcm();

}  // namespace featreuse::data
