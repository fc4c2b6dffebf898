/**
 * The SSIM definition shared by the evaluation metric (src/eval/ssim.ts) and the differentiable loss
 * term (ssim-loss.ts), as scikit-image 0.19 `structural_similarity` defines it with its defaults on
 * float input: a 7×7 uniform window, K1 = 0.01, K2 = 0.03 (and sample covariance N/(N−1)).
 */
export const SSIM_WINDOW = 7;
export const K1 = 0.01;
export const K2 = 0.03;
