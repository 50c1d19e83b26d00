//! Genre classification: the model's input features (one function, used for
//! training export and for inference alike) and ONNX inference.

pub mod features;
