pub mod hpa_placeholder {}
