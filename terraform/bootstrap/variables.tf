variable "region" {
  description = "AWS region of the shared resources."
  type        = string
}

variable "state_bucket" {
  description = "Name of the state bucket to create."
  type        = string
}

variable "lock_table" {
  description = "Name of the lock table to create."
  type        = string
}

variable "shared_buckets" {
  description = "Buckets every environment shares, by kind (releases: the bundle verified in staging is the one prod runs)."
  type        = map(string)
}
